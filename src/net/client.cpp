// Outbound HTTP(S) POST for alert sinks: name lookup with a deadline, the SSRF guard on every
// address, TLS verification, one request and the answer's status line.
#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include <dlrd/net/client.hpp>

#include <dlrd/common/thread_name.hpp>
#include <dlrd/net/url.hpp>

#include "refusal.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace dlrd::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

struct exchange_state {
  post_result result;
  bool done = false;
};

using clock = std::chrono::steady_clock;

template <typename Stream>
asio::awaitable<void> write_and_read(Stream& stream, beast::tcp_stream& tcp, clock::time_point deadline,
                                     const url& u, const post_request& request, post_result& out) {
  beast::error_code ec;
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, u.target, 11};
  bool default_port = u.port == (u.tls ? 443 : 80);
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  req.set(beast::http::field::host, default_port ? host : host + ":" + std::to_string(u.port));
  req.set(beast::http::field::user_agent, "dlrd");
  req.set(beast::http::field::content_type, request.content_type);
  req.set(beast::http::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();

  tcp.expires_at(deadline);
  co_await beast::http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    out.error = "sending the request: " + ec.message();
    co_return;
  }
  beast::flat_buffer buffer;
  beast::http::response_parser<beast::http::empty_body> parser;
  parser.skip(true);  // only the status line and headers are read
  co_await beast::http::async_read_header(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && ec != beast::http::error::end_of_stream) {
    out.error = "reading the answer: " + ec.message();
    co_return;
  }
  out.status = static_cast<int>(parser.get().result_int());
  if (out.status == 0) out.error = "reading the answer: no status line";
}

/// A name lookup on a thread of its own: getaddrinfo cannot be interrupted, so the caller
/// stops waiting at its deadline and the thread finishes (and frees this) on its own.
struct lookup {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<tcp::endpoint> endpoints;
  std::string error;
};

/// Lookups still running, the abandoned ones included; bounded so that a resolver that
/// hangs cannot pile up threads.
std::atomic<int> lookups_running{0};
constexpr int max_lookups_running = 16;

struct resolved {
  std::vector<tcp::endpoint> endpoints;
  std::string error;  ///< empty on success
};

/// Resolves `host` before `deadline` (or `cancel`), whatever getaddrinfo does.
resolved resolve_before(const std::string& host, std::uint16_t port, clock::time_point deadline,
                        const std::atomic<bool>* cancel) {
  beast::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) return {{tcp::endpoint(literal, port)}, {}};
  if (lookups_running.fetch_add(1) >= max_lookups_running) {
    lookups_running.fetch_sub(1);
    return {{}, "resolving " + host + ": " + std::to_string(max_lookups_running) + " earlier lookups still running"};
  }
  auto state = std::make_shared<lookup>();
  try {
    named_thread("dlrd-resolve", [state, host, port] {
      asio::io_context ioc;
      tcp::resolver resolver(ioc);
      beast::error_code error;
      auto results = resolver.resolve(host, std::to_string(port), error);  // getaddrinfo, on this thread
      {
        std::lock_guard lock(state->mutex);
        if (error) state->error = error.message();
        for (const auto& entry : results) state->endpoints.push_back(entry.endpoint());
        state->done = true;
      }
      state->done_cv.notify_all();
      lookups_running.fetch_sub(1);
    }).detach();
  } catch (const std::system_error& e) {
    lookups_running.fetch_sub(1);
    return {{}, "resolving " + host + ": " + e.what()};
  }
  std::unique_lock lock(state->mutex);
  while (!state->done) {
    if (cancel != nullptr && cancel->load()) return {{}, "cancelled"};
    auto now = clock::now();
    if (now >= deadline) return {{}, "resolving " + host + ": timeout"};
    state->done_cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(50)));
  }
  if (!state->error.empty()) return {{}, "resolving " + host + ": " + state->error};
  return {std::move(state->endpoints), {}};
}

/// The resolved endpoints the SSRF guard lets through (all of them with `allow_private`);
/// `refused` names the first one it stopped, and why.
std::vector<tcp::endpoint> allowed_endpoints(const std::vector<tcp::endpoint>& endpoints, bool allow_private,
                                             std::string& refused) {
  std::vector<tcp::endpoint> allowed;
  for (const auto& endpoint : endpoints) {
    auto why = allow_private ? std::nullopt : refusal(endpoint.address());
    if (why) {
      if (refused.empty()) refused = endpoint.address().to_string() + " (" + *why + ")";
    } else {
      allowed.push_back(endpoint);
    }
  }
  return allowed;
}

/// Runs `ioc` in 50 ms slices until the exchange is done, `cancel` is set or the deadline
/// (plus a grace of 100 ms) has passed; the last two leave their reason in the result.
void drive(asio::io_context& ioc, exchange_state& state, const std::atomic<bool>* cancel,
           clock::time_point deadline, std::chrono::milliseconds timeout) {
  while (!state.done) {
    ioc.run_for(std::chrono::milliseconds(50));
    if (state.done) break;
    if (cancel != nullptr && cancel->load()) {
      state.result.error = "cancelled";
      break;
    }
    if (clock::now() > deadline + std::chrono::milliseconds(100)) {
      state.result.error = "timeout after " + std::to_string(timeout.count()) + "ms";
      break;
    }
    if (ioc.stopped()) ioc.restart();
  }
}

}  // namespace

std::string post_result::describe() const {
  if (!error.empty()) return error;
  if (status >= 300 && status < 400) return "HTTP " + std::to_string(status) + " (redirects are not followed)";
  return "HTTP " + std::to_string(status);
}

struct client::impl {
  asio::ssl::context tls{asio::ssl::context::tls_client};
};

client::client() : impl_(std::make_unique<impl>()) {
  impl_->tls.set_default_verify_paths();
  impl_->tls.set_verify_mode(asio::ssl::verify_peer);
  impl_->tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
}

client::~client() = default;

post_result client::post(const post_request& request, const std::atomic<bool>* cancel) const {
  post_result out;
  std::string error;
  auto u = parse_url(request.url, error);
  if (!u) {
    out.error = "bad URL: " + error;
    return out;
  }
  auto start = clock::now();
  auto deadline = start + request.timeout;
  auto connect_deadline = std::min(deadline, start + request.connect_timeout);

  // Not asio's async_resolve: its getaddrinfo runs on a private thread that the
  // io_context's destructor joins, so a hung lookup would outlive every deadline.
  auto addresses = resolve_before(u->host, u->port, connect_deadline, cancel);
  if (!addresses.error.empty()) {
    out.error = addresses.error;
    return out;
  }
  std::string refused;
  auto allowed = allowed_endpoints(addresses.endpoints, request.allow_private, refused);

  // Declared before the io_context: its destructor may destroy a coroutine still pending.
  exchange_state state;
  auto run = [&]() -> asio::awaitable<void> {
    auto& result = state.result;
    auto ex = co_await asio::this_coro::executor;
    beast::error_code ec;
    if (allowed.empty()) {
      result.error = refused.empty() ? "resolving " + u->host + ": no addresses"
                                     : "refused: " + u->host + " resolves to " + refused +
                                           "; set allow_private: true to allow it";
      co_return;
    }
    beast::tcp_stream stream(ex);
    stream.expires_at(connect_deadline);
    co_await stream.async_connect(allowed, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      result.error = "connecting to " + u->host + ":" + std::to_string(u->port) + ": " +
                     (ec == beast::error::timeout ? std::string("connect timeout") : ec.message());
      co_return;
    }
    if (!u->tls) {
      co_await write_and_read(stream, stream, deadline, *u, request, result);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream&> tls(stream, impl_->tls);
    if (!SSL_set_tlsext_host_name(tls.native_handle(), u->host.c_str())) {
      result.error = "TLS: cannot set the server name";
      co_return;
    }
    tls.set_verify_callback(asio::ssl::host_name_verification(u->host));
    stream.expires_at(deadline);
    co_await tls.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      result.error = "TLS handshake with " + u->host + ": " + ec.message();
      co_return;
    }
    co_await write_and_read(tls, stream, deadline, *u, request, result);
  };
  asio::io_context ioc;
  asio::co_spawn(ioc, run(), [&](std::exception_ptr e) {
    state.done = true;
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        state.result.error = ex.what();
      }
    }
  });
  drive(ioc, state, cancel, deadline, request.timeout);
  // Leaving with work pending (cancel, or the deadline): the io_context's destructor
  // destroys the coroutine and closes its socket; nothing it owns blocks.
  return state.result;
}

}  // namespace dlrd::net
