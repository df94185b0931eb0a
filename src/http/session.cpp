// The session coroutine: read a request under its deadlines, let the handler decide, wait for
// the answer (the spool ack, or work done elsewhere), write it; repeat while the connection
// stays open. Every refusal at the edge is answered here before the connection closes.
#include "session.hpp"

#include "tls.hpp"

#include <dlrd/http/framing.hpp>
#include <dlrd/report/time.hpp>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <optional>
#include <type_traits>

namespace dlrd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using tls_stream = ssl::stream<tcp::socket&>;

namespace {

/// How long a connection closed after an error answer is drained (so that unread request
/// bytes do not turn the close into a reset that destroys the answer), and how long a TLS
/// close_notify exchange or a refusal may take.
constexpr auto close_grace = std::chrono::milliseconds(500);
constexpr std::size_t drain_limit = 256 * 1024;

auto awaitable_into(error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

/// Writes `res` (counted under `route`) without a deadline of its own; true when written.
template <typename Stream>
asio::awaitable<bool> write_unarmed(const session_env& env, Stream& stream, response& res, std::string_view route) {
  res.prepare_payload();
  env.metrics.answered(route, res.result_int());
  error_code ec;
  co_await bhttp::async_write(stream, res, awaitable_into(ec));
  co_return !ec;
}

/// Ends a connection. After an error answer the request may not have been read whole:
/// keep reading (and discarding) for a moment, so that closing with unread bytes does not
/// reset the connection before the peer has read the answer.
template <typename Stream>
asio::awaitable<void> close(const session_env& env, session_state& s, Stream& stream, bool drain) {
  error_code ec;
  if constexpr (std::is_same_v<Stream, tls_stream>) {
    s.arm(close_grace);
    co_await stream.async_shutdown(awaitable_into(ec));
    s.disarm();
  } else {
    s.socket.shutdown(tcp::socket::shutdown_send, ec);
    if (drain && !ec && !env.stopping) {
      s.arm(close_grace);
      std::array<char, read_chunk> scratch;
      for (std::size_t drained = 0; drained < drain_limit;) {
        drained += co_await s.socket.async_read_some(asio::buffer(scratch), awaitable_into(ec));
        if (ec) break;
      }
      s.disarm();
    }
  }
  s.socket.close(ec);
}

/// The requests of one connection, over `Stream` (plain TCP or TLS).
template <typename Stream>
class session {
 public:
  session(const session_env& env, session_state& s, Stream& stream, bool tls)
      : env_(env), s_(s), stream_(stream), tls_(tls) {}

  /// Serves requests until the connection ends; true when it ends after an error answer
  /// (the request may not have been read whole).
  asio::awaitable<bool> run() {
    // Capped: no framing (header, chunk line, trailer, pipelined requests) makes it grow.
    auto buffer = make_read_buffer(env_.listen);
    for (bool first = true;; first = false) {
      if (!co_await next_request(buffer, first)) break;
      request_reader reader(env_.listen);
      if (auto ended = co_await read_whole(buffer, reader)) co_return *ended;
      if (!co_await respond(reader.release())) break;
    }
    s_.disarm();
    co_return false;
  }

 private:
  /// Waits for the first bytes of the next request, arming its header deadline: a new
  /// connection must deliver its first header within read_timeout; later requests may wait
  /// idle_timeout first, then get read_timeout for their header. False when the connection
  /// ends instead (closed by the peer, no first request, idle timeout, or shutdown).
  asio::awaitable<bool> next_request(beast::flat_buffer& buffer, bool first) {
    if (first) s_.arm(env_.listen.read_timeout);
    if (buffer.size() == 0) {
      // Idle between requests: a shutdown may close the connection here.
      if (env_.stopping) co_return false;
      s_.idle = true;
      if (!first) s_.arm(env_.listen.idle_timeout);
      error_code ec;
      auto n = co_await stream_.async_read_some(buffer.prepare(request_reader::room(buffer)), awaitable_into(ec));
      s_.idle = false;
      if (ec) co_return false;
      buffer.commit(n);
    }
    if (!first) s_.arm(env_.listen.read_timeout);
    co_return true;
  }

  /// Reads the header (under the armed deadline), then the body under body_timeout. Nothing
  /// when the request is in whole; otherwise the connection ends (true: after an error answer).
  asio::awaitable<std::optional<bool>> read_whole(beast::flat_buffer& buffer, request_reader& reader) {
    if (auto e = co_await read_request(buffer, reader, true)) {
      s_.disarm();
      if (!reader.header_parsed()) co_return co_await fail(*e);
      env_.metrics.request();  // a whole header that failed a check
      co_return co_await fail(*e, handler::route_of(reader.get().target()));
    }
    s_.disarm();
    env_.metrics.request();
    const auto route = handler::route_of(reader.get().target());

    s_.arm(env_.listen.body_timeout);
    if (reader.expects_continue()) {
      // The header passed every check, the declared length included: ask for the body.
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, http_1_1};
      error_code ec;
      co_await bhttp::async_write(stream_, cont, awaitable_into(ec));
      if (ec) {
        s_.disarm();
        co_return false;
      }
    }
    auto body_error = co_await read_request(buffer, reader, false);
    s_.disarm();
    if (body_error) co_return co_await fail(*body_error, route);
    co_return std::nullopt;
  }

  /// Feeds `reader` until it has the header (`header` true) or the whole request, under the
  /// deadline armed by the caller; each read adds at most what the capped buffer takes.
  asio::awaitable<std::optional<edge_error>> read_request(beast::flat_buffer& buffer, request_reader& reader,
                                                          bool header) {
    for (;;) {
      auto p = header ? reader.read_header(buffer) : reader.read_body(buffer);
      if (p == request_reader::progress::refused) co_return reader.error();
      if (p != request_reader::progress::need_more) co_return std::nullopt;
      error_code ec;
      auto n = co_await stream_.async_read_some(buffer.prepare(request_reader::room(buffer)), awaitable_into(ec));
      if (ec) {
        if (s_.timed_out && !header) {
          co_return edge_error{bhttp::status::request_timeout, rejection::body_timeout,
                               "request body not received in time"};
        }
        if (s_.timed_out && reader.header_bytes() + buffer.size() > 0) {
          co_return edge_error{bhttp::status::request_timeout, rejection::header_timeout,
                               "request header not received in time"};
        }
        co_return edge_error{};  // the peer went away (mid-request or not), or never started one
      }
      buffer.commit(n);
    }
  }

  /// Hands a whole request to the handler and writes its answer; false when the connection
  /// ends after it.
  asio::awaitable<bool> respond(request req) {
    const auto read_done = std::chrono::steady_clock::now();
    const auto route = handler::route_of(req.target());
    auto out = env_.handle.handle(req, request_context{report::now(), s_.peer, tls_});
    auto res = co_await env_.answers.answer(std::move(out), req.version(), read_done);
    res.version(req.version());
    res.keep_alive(req.keep_alive() && !env_.stopping);
    if (!co_await write(res, route)) co_return false;
    co_return res.keep_alive();
  }

  asio::awaitable<bool> write(response& res, std::string_view route) {
    s_.arm(env_.listen.write_timeout);
    bool ok = co_await write_unarmed(env_, stream_, res, route);
    s_.disarm();
    co_return ok;
  }

  /// Answers an edge error (or not, when there is nothing to answer) before the connection
  /// closes; true when it answered.
  asio::awaitable<bool> fail(const edge_error& e, std::string_view route = "other") {
    if (e.reason) env_.metrics.rejected(*e.reason);
    if (e.code == bhttp::status::unknown) co_return false;
    // Sent before (or instead of) reading the request whole: in HTTP/1.1, whatever it spoke.
    auto res = error_answer(http_1_1, e.code, e.message);
    res.keep_alive(false);
    co_await write(res, route);
    co_return true;
  }

  const session_env& env_;
  session_state& s_;
  Stream& stream_;
  bool tls_;
};

}  // namespace

session_state::session_state(tcp::socket s, std::string p)
    : socket(std::move(s)), timer(socket.get_executor()), peer(std::move(p)) {}

void session_state::arm(std::chrono::milliseconds d) {
  timed_out = false;
  timer.expires_after(d);
  timer.async_wait([weak = weak_from_this(), generation = ++deadline](error_code e) {
    auto sp = weak.lock();
    // A deadline that fired after it was replaced (its handler already queued) is stale.
    if (e || !sp || sp->deadline != generation) return;
    sp->timed_out = true;
    error_code ignored;
    sp->socket.cancel(ignored);
  });
}

void session_state::disarm() {
  ++deadline;
  timer.cancel();
}

asio::awaitable<void> run_connection(const session_env& env, std::shared_ptr<session_state> sp,
                                     std::shared_ptr<ssl::context> tls) {
  auto& s = *sp;
  if (!tls) {
    bool drain = co_await session<tcp::socket>(env, s, s.socket, false).run();
    co_await close(env, s, s.socket, drain);
    co_return;
  }
  tls_stream stream(s.socket, *tls);
  error_code ec;
  s.arm(env.listen.read_timeout);
  co_await stream.async_handshake(ssl::stream_base::server, awaitable_into(ec));
  if (ec) {
    env.metrics.rejected(rejection::tls_handshake);
    if (is_plain_http_on_tls(ec)) {
      // Still under the handshake's deadline.
      auto res = error_answer(http_1_1, bhttp::status::bad_request, "this port speaks TLS: use https");
      res.keep_alive(false);
      co_await write_unarmed(env, s.socket, res, "other");
      s.disarm();
      co_await close(env, s, s.socket, true);
    } else {
      s.disarm();
      s.socket.close(ec);
    }
    co_return;
  }
  s.disarm();
  bool drain = co_await session<tls_stream>(env, s, stream, true).run();
  co_await close(env, s, stream, drain);
}

// On a TLS port the connection is closed at once: an answer would need a full handshake (the
// expensive part of the connection, and what a flood of them would buy), and a client retries
// a closed connection as it retries a 503.
asio::awaitable<void> refuse_connection(const session_env& env, std::shared_ptr<session_state> sp, bool tls,
                                        rejection why) {
  auto& s = *sp;
  error_code ec;
  if (!tls) {
    auto res = unavailable(http_1_1,
                           why == rejection::too_many_connections ? "too many open connections"
                                                                  : "too many open connections from your address",
                           env.listen.retry_after_seconds);
    res.keep_alive(false);
    res.prepare_payload();
    s.arm(close_grace);
    co_await bhttp::async_write(s.socket, res, awaitable_into(ec));
    s.disarm();
  }
  s.socket.shutdown(tcp::socket::shutdown_both, ec);
  s.socket.close(ec);
}

}  // namespace dlrd::http
