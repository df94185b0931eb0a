// Listener and sessions: Beast over Asio with C++20 coroutines, one coroutine per connection,
// over plain TCP or native TLS, with every edge limit enforced before the handler runs.
#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include <dlrd/http/server.hpp>

#include <dlrd/http/framing.hpp>

#include <dlrd/metrics/metrics.hpp>

#include <dlrd/report/codec.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/spool/spool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <iterator>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <unordered_map>

namespace dlrd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using tls_stream = ssl::stream<tcp::socket&>;

namespace {

/// Hands records to the spool and resumes the caller on its own executor once the
/// spool has answered.
template <typename Token>
auto async_append(spool::journal& journal, std::vector<std::string> payloads, Token&& token) {
  return asio::async_initiate<Token, void(spool::append_result)>(
      [&journal](auto handler, std::vector<std::string> records) {
        auto ex = asio::get_associated_executor(handler);
        // std::function needs a copyable callable; the coroutine's handler is move-only.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        journal.append(std::move(records), [shared, ex](spool::append_result r) {
          asio::post(ex, [shared, r]() mutable { (*shared)(r); });
        });
      },
      token, std::move(payloads));
}

/// Runs `work` on `pool` and resumes the caller on its own executor with the answer.
template <typename Token>
auto async_run_blocking(asio::thread_pool& pool, std::function<response()> work, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [&pool](auto handler, std::function<response()> job) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        asio::post(pool, [shared, ex, job = std::move(job)]() mutable {
          response res;
          try {
            res = job();
          } catch (const std::exception& e) {
            spdlog::warn("api request failed: {}", e.what());
            res = handler::error(11, bhttp::status::service_unavailable, "temporarily unavailable, retry later");
          }
          asio::post(ex, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
        });
      },
      token, std::move(work));
}

/// Hands `work` a completion it may call from any thread, and resumes the caller on its own
/// executor with the answer. A second call of the completion is ignored.
template <typename Token>
auto async_answer(std::function<void(std::function<void(response)>)> work, Token&& token) {
  return asio::async_initiate<Token, void(response)>(
      [](auto handler, std::function<void(std::function<void(response)>)> job) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        auto answered = std::make_shared<std::atomic<bool>>(false);
        auto complete = [shared, ex, answered](response res) {
          if (answered->exchange(true)) return;
          asio::post(ex, [shared, res = std::move(res)]() mutable { (*shared)(std::move(res)); });
        };
        try {
          job(complete);
        } catch (const std::exception& e) {
          spdlog::warn("api request failed: {}", e.what());
          complete(handler::error(11, bhttp::status::service_unavailable, "temporarily unavailable, retry later"));
        }
      },
      token, std::move(work));
}

/// How long a connection closed after an error answer is drained (so that unread request
/// bytes do not turn the close into a reset that destroys the answer), and how long a TLS
/// close_notify exchange or a refusal may take.
constexpr auto close_grace = std::chrono::milliseconds(500);
constexpr std::size_t drain_limit = 256 * 1024;

/// Intermediate-compatibility TLS 1.2 suites (forward secret AEAD only); TLS 1.3 keeps
/// OpenSSL's defaults.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

std::shared_ptr<ssl::context> make_tls_context(const tls_config& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                   ssl::context::no_compression);
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) throw std::runtime_error("TLS: no usable cipher suite");
  // An encrypted key would make OpenSSL prompt on a terminal; a daemon refuses it instead.
  ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
  error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) throw std::runtime_error("listen.tls.cert_file '" + files.cert_file + "': " + ec.message());
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("listen.tls.key_file '" + files.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("listen.tls.key_file '" + files.key_file + "' does not match the certificate in '" +
                             files.cert_file + "'");
  }
  return ctx;
}

/// The client spoke plain HTTP to the TLS port (OpenSSL recognises the request line).
bool is_plain_http_on_tls(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

/// Ignored events (an inbound SMS, a summary report) are counted by profile and reason; both
/// come from the configuration, so the series are bounded.
handler_config counting_ignored(handler_config h, metrics::registry* registry) {
  if (!h.on_ignored_event && registry) {
    h.on_ignored_event = [registry](std::string_view profile, std::string_view reason) {
      registry
          ->get_counter("dlrd_events_ignored_total",
                        "Callbacks a profile ignores (not delivery reports): answered, never stored.",
                        {{"profile", std::string(profile)}, {"reason", std::string(reason)}})
          .inc();
    };
  }
  return h;
}

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  struct session_state : std::enable_shared_from_this<session_state> {
    tcp::socket socket;
    asio::steady_timer timer;
    std::string peer;               ///< the TCP peer's address, textual
    std::uint64_t deadline = 0;     ///< generation of the armed deadline
    bool idle = false;
    bool timed_out = false;
    session_state(tcp::socket s, std::string p)
        : socket(std::move(s)), timer(socket.get_executor()), peer(std::move(p)) {}
  };

  listen_config listen;
  handler handle;
  spool::journal& journal;
  // One single-threaded io_context per I/O thread: a session lives on one thread for its
  // whole life, so it needs no strand and its handlers take no locks.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::size_t next_context = 0;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  asio::thread_pool blocking_pool{4};  // API routes that query PostgreSQL

  // The TLS context new connections use; replaced whole by reload_tls(), while each open
  // connection keeps the one it started with.
  mutable std::mutex tls_mutex;
  std::shared_ptr<ssl::context> tls_context;

  std::mutex sessions_mutex;
  std::condition_variable sessions_done;
  std::list<std::shared_ptr<session_state>> sessions;
  std::unordered_map<std::string, std::size_t> sessions_per_ip;

  std::atomic<std::uint64_t> accepted{0}, refused{0}, refused_per_ip{0}, requests{0}, r2xx{0}, r4xx{0}, r5xx{0};

  metrics::registry* registry;
  metrics::histogram* ack_latency = nullptr;
  metrics::counter* quarantined = nullptr;
  std::array<metrics::counter*, rejection_names.size()> rejected{};
  // Per I/O thread: steady_clock ticks of the event loop's last heartbeat.
  std::unique_ptr<std::atomic<std::int64_t>[]> heartbeats;

  impl(listen_config l, handler_config h, spool::journal& j, metrics::registry* m)
      : listen(std::move(l)), handle(counting_ignored(std::move(h), m)), journal(j), contexts(make_contexts(listen.threads)),
        acceptor(*contexts.front()), registry(m),
        heartbeats(std::make_unique<std::atomic<std::int64_t>[]>(contexts.size())) {
    if (listen.tls) tls_context = make_tls_context(*listen.tls);
    for (auto& c : contexts) guards.push_back(asio::make_work_guard(*c));
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < contexts.size(); ++i) heartbeats[i] = now;
    if (registry) {
      ack_latency = &registry->get_histogram(
          "dlrd_ack_latency_seconds", "Time from a callback fully read to its durable answer being ready.",
          metrics::latency_buckets());
      quarantined = &registry->get_counter("dlrd_quarantined_total",
                                           "Undecodable callbacks stored in quarantine (acked once durable).");
      for (std::size_t i = 0; i < rejection_names.size(); ++i) {
        rejected[i] = &registry->get_counter("dlrd_http_rejected_total",
                                             "Connections and requests refused at the HTTP edge, by reason.",
                                             {{"reason", std::string(rejection_names[i])}});
      }
    }
  }

  /// Beats for the watchdog while the event loop runs; ends when the server stops.
  asio::awaitable<void> heartbeat(std::size_t index) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!stopping) {
      heartbeats[index] = std::chrono::steady_clock::now().time_since_epoch().count();
      t.expires_after(std::chrono::milliseconds(250));
      error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // The registry's lookup builds its label strings and takes its lock; on the ack path each
  // I/O thread does it once per series and keeps the pointer (counters live as long as the
  // registry, and an I/O thread serves one server for its whole life).
  struct thread_series {
    const metrics::registry* owner = nullptr;
    std::map<std::pair<std::string_view, unsigned>, metrics::counter*> routes;  // route_of's static names
    std::array<std::vector<std::pair<std::string, metrics::counter*>>, 5> reports;  // by status, then provider
  };

  thread_series& series() {
    thread_local thread_series mine;
    if (mine.owner != registry) {
      mine = thread_series{};
      mine.owner = registry;
    }
    return mine;
  }

  void count_route(std::string_view route, unsigned code) {
    if (!registry) return;
    auto& c = series().routes[{route, code}];
    if (!c) {
      c = &registry->get_counter("dlrd_http_requests_total", "HTTP requests answered, by route and status code.",
                                 {{"route", std::string(route)}, {"code", std::to_string(code)}});
    }
    c->inc();
  }

  void count_rejected(rejection r) {
    if (registry) rejected[static_cast<std::size_t>(r)]->inc();
  }

  void count_spooled(const std::vector<report::ingest_record>& records) {
    if (!registry) return;
    auto& cache = series().reports;
    for (const auto& r : records) {
      const auto* d = std::get_if<report::delivery_report>(&r);
      if (!d) {
        quarantined->inc();
        continue;
      }
      auto& by_provider = cache[static_cast<std::size_t>(d->canonical)];
      auto it = std::find_if(by_provider.begin(), by_provider.end(),
                             [d](const auto& e) { return e.first == d->provider; });
      if (it == by_provider.end()) {
        auto& c = registry->get_counter(
            "dlrd_reports_total", "Delivery reports acked (durable), by provider and canonical status.",
            {{"provider", d->provider}, {"status", std::string(report::to_string(d->canonical))}});
        it = by_provider.insert(by_provider.end(), {d->provider, &c});
      }
      it->second->inc();
    }
  }

  static std::vector<std::unique_ptr<asio::io_context>> make_contexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (int i = 0; i < std::max(n, 1); ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  asio::io_context& pick_context() {
    auto& c = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    return c;
  }

  std::shared_ptr<ssl::context> current_tls() const {
    std::lock_guard lock(tls_mutex);
    return tls_context;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      error_code ec;
      auto socket = co_await acceptor.async_accept(pick_context(), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping) co_return;
        // EMFILE and friends: pause instead of spinning, the listener stays up.
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer t(acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::string peer;
      if (auto ep = socket.remote_endpoint(ec); !ec) peer = ep.address().to_string();
      auto state = std::make_shared<session_state>(std::move(socket), std::move(peer));
      auto tls = current_tls();
      std::list<std::shared_ptr<session_state>>::iterator it;
      std::optional<rejection> over;
      {
        std::lock_guard lock(sessions_mutex);
        if (sessions.size() >= listen.max_connections) {
          over = rejection::too_many_connections;
        } else {
          auto& from_peer = sessions_per_ip[state->peer];
          if (listen.max_connections_per_ip > 0 && from_peer >= listen.max_connections_per_ip) {
            over = rejection::too_many_connections_per_ip;
          } else {
            it = sessions.insert(sessions.end(), state);
            ++from_peer;
          }
        }
      }
      if (over) {
        ++(*over == rejection::too_many_connections ? refused : refused_per_ip);
        count_rejected(*over);
        asio::co_spawn(state->socket.get_executor(), refuse(state, tls != nullptr, *over), asio::detached);
        continue;
      }
      ++accepted;
      auto self = shared_from_this();
      asio::co_spawn(state->socket.get_executor(), connection(state, std::move(tls)),
                     [self, it](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("session ended by an exception: {}", ex.what());
                         }
                       }
                       std::lock_guard lock(self->sessions_mutex);
                       auto per_ip = self->sessions_per_ip.find((*it)->peer);
                       if (per_ip != self->sessions_per_ip.end() && --per_ip->second == 0) {
                         self->sessions_per_ip.erase(per_ip);
                       }
                       self->sessions.erase(it);
                       if (self->sessions.empty()) self->sessions_done.notify_all();
                     });
    }
  }

  /// Arms the per-operation deadline: on expiry the socket's operations are cancelled
  /// (not the socket closed), so that a 408 can still be written.
  void arm(session_state& s, std::chrono::milliseconds d) {
    s.timed_out = false;
    s.timer.expires_after(d);
    s.timer.async_wait([weak = s.weak_from_this(), generation = ++s.deadline](error_code e) {
      auto sp = weak.lock();
      // A deadline that fired after it was replaced (its handler already queued) is stale.
      if (e || !sp || sp->deadline != generation) return;
      sp->timed_out = true;
      error_code ignored;
      sp->socket.cancel(ignored);
    });
  }

  void disarm(session_state& s) {
    ++s.deadline;
    s.timer.cancel();
  }

  void count(unsigned code) {
    if (code < 300) ++r2xx;
    else if (code < 500) ++r4xx;
    else ++r5xx;
  }

  /// Over max_connections(_per_ip): on a plain port, 503 with Retry-After within close_grace.
  /// On a TLS port the connection is closed at once: an answer would need a full handshake
  /// (the expensive part of the connection, and what a flood of them would buy), and a client
  /// retries a closed connection as it retries a 503. The connection never counts as a session.
  asio::awaitable<void> refuse(std::shared_ptr<session_state> sp, bool tls, rejection why) {
    auto& s = *sp;
    error_code ec;
    if (!tls) {
      auto res = handler::unavailable(11,
                                      why == rejection::too_many_connections
                                          ? "too many open connections"
                                          : "too many open connections from your address",
                                      listen.retry_after_seconds);
      res.keep_alive(false);
      res.prepare_payload();
      arm(s, close_grace);
      co_await bhttp::async_write(s.socket, res, asio::redirect_error(asio::use_awaitable, ec));
      disarm(s);
    }
    s.socket.shutdown(tcp::socket::shutdown_both, ec);
    s.socket.close(ec);
  }

  /// One accepted connection: the TLS handshake when the port speaks TLS, then the session.
  asio::awaitable<void> connection(std::shared_ptr<session_state> sp, std::shared_ptr<ssl::context> tls) {
    auto& s = *sp;
    if (!tls) {
      bool drain = co_await run_session(s, s.socket, false);
      co_await close(s, s.socket, drain);
      co_return;
    }
    tls_stream stream(s.socket, *tls);
    error_code ec;
    arm(s, listen.read_timeout);
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      count_rejected(rejection::tls_handshake);
      if (is_plain_http_on_tls(ec)) {
        // Still under the handshake's deadline.
        auto res = handler::error(11, bhttp::status::bad_request, "this port speaks TLS: use https");
        res.keep_alive(false);
        co_await write_unarmed(s.socket, res, "other");
        disarm(s);
        co_await close(s, s.socket, true);
      } else {
        disarm(s);
        s.socket.close(ec);
      }
      co_return;
    }
    disarm(s);
    bool drain = co_await run_session(s, stream, true);
    co_await close(s, stream, drain);
  }

  /// Ends a connection. After an error answer the request may not have been read whole:
  /// keep reading (and discarding) for a moment, so that closing with unread bytes does not
  /// reset the connection before the peer has read the answer.
  template <typename Stream>
  asio::awaitable<void> close(session_state& s, Stream& stream, bool drain) {
    error_code ec;
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      arm(s, close_grace);
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      disarm(s);
    } else {
      s.socket.shutdown(tcp::socket::shutdown_send, ec);
      if (drain && !ec && !stopping) {
        arm(s, close_grace);
        std::array<char, read_chunk> scratch;
        for (std::size_t drained = 0; drained < drain_limit;) {
          drained += co_await s.socket.async_read_some(asio::buffer(scratch),
                                                       asio::redirect_error(asio::use_awaitable, ec));
          if (ec) break;
        }
        disarm(s);
      }
    }
    s.socket.close(ec);
  }

  template <typename Stream>
  asio::awaitable<bool> write_unarmed(Stream& stream, response& res, std::string_view route) {
    res.prepare_payload();
    count(res.result_int());
    count_route(route, res.result_int());
    error_code ec;
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  template <typename Stream>
  asio::awaitable<bool> write(session_state& s, Stream& stream, response& res, std::string_view route) {
    arm(s, listen.write_timeout);
    bool ok = co_await write_unarmed(stream, res, route);
    disarm(s);
    co_return ok;
  }

  /// Answers an edge error (or not, when there is nothing to answer) before the connection
  /// closes; true when it answered.
  template <typename Stream>
  asio::awaitable<bool> fail(session_state& s, Stream& stream, const edge_error& e,
                             std::string_view route = "other") {
    if (e.reason) count_rejected(*e.reason);
    if (e.code == bhttp::status::unknown) co_return false;
    auto res = handler::error(11, e.code, e.message);
    res.keep_alive(false);
    co_await write(s, stream, res, route);
    co_return true;
  }

  /// Feeds `reader` from `stream` until it has the header (`header` true) or the whole request,
  /// under the deadline armed by the caller; each read adds at most what the capped buffer takes.
  template <typename Stream>
  asio::awaitable<std::optional<edge_error>> read_request(session_state& s, Stream& stream, beast::flat_buffer& buffer,
                                                          request_reader& reader, bool header) {
    for (;;) {
      auto p = header ? reader.read_header(buffer) : reader.read_body(buffer);
      if (p == request_reader::progress::refused) co_return reader.error();
      if (p != request_reader::progress::need_more) co_return std::nullopt;
      error_code ec;
      auto n = co_await stream.async_read_some(buffer.prepare(request_reader::room(buffer)),
                                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (s.timed_out && !header) {
          co_return edge_error{bhttp::status::request_timeout, rejection::body_timeout,
                               "request body not received in time"};
        }
        if (s.timed_out && reader.header_bytes() + buffer.size() > 0) {
          co_return edge_error{bhttp::status::request_timeout, rejection::header_timeout,
                               "request header not received in time"};
        }
        co_return edge_error{};  // the peer went away (mid-request or not), or never started one
      }
      buffer.commit(n);
    }
  }

  /// Serves requests until the connection ends; true when it ends after an error answer
  /// (the request may not have been read whole).
  template <typename Stream>
  asio::awaitable<bool> run_session(session_state& s, Stream& stream, bool tls) {
    // Capped: no framing (header, chunk line, trailer, pipelined requests) makes it grow.
    auto buffer = make_read_buffer(listen);
    // A new connection must deliver its first header within read_timeout; later requests
    // may wait idle_timeout first, then get read_timeout for their header.
    bool first = true;
    for (;;) {
      error_code ec;
      if (first) arm(s, listen.read_timeout);
      if (buffer.size() == 0) {
        // Idle between requests: a shutdown may close the connection here.
        if (stopping) break;
        s.idle = true;
        if (!first) arm(s, listen.idle_timeout);
        auto n = co_await stream.async_read_some(buffer.prepare(request_reader::room(buffer)),
                                                 asio::redirect_error(asio::use_awaitable, ec));
        s.idle = false;
        if (ec) break;  // closed by the peer, no first request, idle timeout, or shutdown
        buffer.commit(n);
      }
      if (!first) arm(s, listen.read_timeout);
      first = false;

      request_reader reader(listen);
      if (auto e = co_await read_request(s, stream, buffer, reader, true)) {
        disarm(s);
        if (!reader.header_parsed()) co_return co_await fail(s, stream, *e);
        ++requests;  // a whole header that failed a check
        co_return co_await fail(s, stream, *e, handler::route_of(reader.get().target()));
      }
      disarm(s);
      ++requests;
      const auto route = handler::route_of(reader.get().target());

      arm(s, listen.body_timeout);
      if (reader.expects_continue()) {
        // The header passed every check, the declared length included: ask for the body.
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        co_await bhttp::async_write(stream, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          disarm(s);
          co_return false;
        }
      }
      auto body_error = co_await read_request(s, stream, buffer, reader, false);
      disarm(s);
      if (body_error) co_return co_await fail(s, stream, *body_error, route);

      auto req = reader.release();
      const auto read_done = std::chrono::steady_clock::now();
      auto out = handle.handle(req, request_context{report::now(), s.peer, tls});
      response res;
      if (out.spool) {
        std::vector<std::string> payloads;
        payloads.reserve(out.spool->records.size());
        for (const auto& r : out.spool->records) payloads.push_back(report::encode(r));
        auto result = co_await async_append(journal, std::move(payloads), asio::use_awaitable);
        if (result == spool::append_result::durable) {
          if (ack_latency) {
            ack_latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - read_done).count());
          }
          count_spooled(out.spool->records);
          res = std::move(out.spool->on_durable);
        } else {
          // Never ack what was not stored (DESIGN.md invariant 2).
          std::string why = result == spool::append_result::full       ? "spool is full, retry later"
                            : result == spool::append_result::stopped ? "shutting down, retry later"
                                                                      : "spool write failed, retry later";
          res = handler::unavailable(req.version(), why, listen.retry_after_seconds);
        }
      } else if (out.deferred) {
        res = co_await async_run_blocking(blocking_pool, std::move(out.deferred), asio::use_awaitable);
      } else if (out.async) {
        res = co_await async_answer(std::move(out.async), asio::use_awaitable);
      } else {
        res = std::move(out.immediate);
      }
      res.version(req.version());
      res.keep_alive(req.keep_alive() && !stopping);
      if (!co_await write(s, stream, res, route)) break;
      if (!res.keep_alive()) break;
    }
    disarm(s);
    co_return false;
  }
};

server::server(listen_config listen, handler_config handling, spool::journal& journal, metrics::registry* metrics)
    : impl_(std::make_shared<impl>(std::move(listen), std::move(handling), journal, metrics)) {}

server::~server() {
  if (!impl_->threads.empty()) stop(std::chrono::milliseconds(0));
}

void server::start() {
  auto& d = *impl_;
  error_code ec;
  auto addr = asio::ip::make_address(d.listen.address, ec);
  if (ec) throw std::system_error(ec, "listen.address '" + d.listen.address + "'");
  tcp::endpoint ep(addr, static_cast<std::uint16_t>(d.listen.port));
  auto where = d.listen.address + ":" + std::to_string(d.listen.port);
  d.acceptor.open(ep.protocol(), ec);
  if (!ec) d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor.bind(ep, ec);
  if (!ec) d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "cannot listen on " + where);
  asio::co_spawn(*d.contexts.front(), d.accept_loop(), [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("listener stopped: {}", ex.what());
      }
    }
  });
  for (std::size_t i = 0; i < d.contexts.size(); ++i) {
    asio::co_spawn(*d.contexts[i], d.heartbeat(i), asio::detached);
  }
  for (auto& c : d.contexts) {
    d.threads.emplace_back([ctx = c.get()] { ctx->run(); });
  }
}

void server::stop(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  d.stopping = true;
  asio::post(d.acceptor.get_executor(), [&d] {
    error_code ignored;
    d.acceptor.close(ignored);
  });
  auto close_matching = [&d](bool only_idle) {
    std::lock_guard lock(d.sessions_mutex);
    for (auto& sp : d.sessions) {
      asio::post(sp->socket.get_executor(), [sp, only_idle] {
        if (only_idle && !sp->idle) return;
        error_code ignored;
        sp->socket.cancel(ignored);
        if (!only_idle) sp->socket.close(ignored);
      });
    }
  };
  close_matching(true);
  {
    std::unique_lock lock(d.sessions_mutex);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!d.sessions.empty()) {
      lock.unlock();
      close_matching(true);  // sessions that just finished a request are idle now
      lock.lock();
      if (d.sessions_done.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                                   std::chrono::milliseconds(50)),
                                     [&d] { return d.sessions.empty(); }))
        break;
      if (std::chrono::steady_clock::now() >= deadline) break;
    }
  }
  close_matching(false);
  {
    std::unique_lock lock(d.sessions_mutex);
    d.sessions_done.wait_for(lock, std::chrono::seconds(2), [&d] { return d.sessions.empty(); });
  }
  d.guards.clear();
  d.blocking_pool.join();
  for (auto& c : d.contexts) c->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
}

void server::reload_tls() {
  if (!impl_->listen.tls) throw std::runtime_error("TLS is not enabled on this listener; enabling it needs a restart");
  reload_tls(*impl_->listen.tls);
}

void server::reload_tls(const tls_config& files) {
  auto& d = *impl_;
  if (!d.current_tls()) throw std::runtime_error("TLS is not enabled on this listener; enabling it needs a restart");
  auto fresh = make_tls_context(files);  // throws, keeping the current context
  std::lock_guard lock(d.tls_mutex);
  d.tls_context = std::move(fresh);
}

std::uint16_t server::port() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

std::chrono::steady_clock::time_point server::oldest_io_heartbeat() const {
  auto& d = *impl_;
  auto oldest = std::numeric_limits<std::int64_t>::max();
  for (std::size_t i = 0; i < d.contexts.size(); ++i) oldest = std::min(oldest, d.heartbeats[i].load());
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(oldest));
}

server_counters server::counters() const {
  auto& d = *impl_;
  server_counters c;
  c.connections_accepted = d.accepted;
  c.connections_refused = d.refused;
  c.connections_refused_per_ip = d.refused_per_ip;
  c.requests = d.requests;
  c.responses_2xx = d.r2xx;
  c.responses_4xx = d.r4xx;
  c.responses_5xx = d.r5xx;
  std::lock_guard lock(d.sessions_mutex);
  c.active_connections = d.sessions.size();
  return c;
}

}  // namespace dlrd::http
