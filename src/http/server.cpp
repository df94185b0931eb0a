// Listener and sessions: Beast over Asio with C++20 coroutines, one coroutine per connection.
#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include <dlrd/http/server.hpp>

#include <dlrd/metrics/metrics.hpp>

#include <dlrd/report/codec.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/spool/spool.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <map>
#include <algorithm>
#include <atomic>
#include <limits>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace dlrd::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

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

/// A parse error in the request itself (as opposed to the peer going away).
bool is_malformed(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

constexpr std::string_view refused_response =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    "Connection: close\r\nContent-Length: 37\r\n\r\n{\"error\":\"too many open connections\"}";

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  struct session_state {
    tcp::socket socket;
    asio::steady_timer timer;
    bool idle = false;
    bool timed_out = false;
    explicit session_state(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
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

  std::mutex sessions_mutex;
  std::condition_variable sessions_done;
  std::list<std::shared_ptr<session_state>> sessions;

  std::atomic<std::uint64_t> accepted{0}, refused{0}, requests{0}, r2xx{0}, r4xx{0}, r5xx{0};

  metrics::registry* registry;
  metrics::histogram* ack_latency = nullptr;
  metrics::counter* quarantined = nullptr;
  // Per I/O thread: steady_clock ticks of the event loop's last heartbeat.
  std::unique_ptr<std::atomic<std::int64_t>[]> heartbeats;

  impl(listen_config l, handler_config h, spool::journal& j, metrics::registry* m)
      : listen(std::move(l)), handle(std::move(h)), journal(j), contexts(make_contexts(listen.threads)),
        acceptor(*contexts.front()), registry(m),
        heartbeats(std::make_unique<std::atomic<std::int64_t>[]>(contexts.size())) {
    for (auto& c : contexts) guards.push_back(asio::make_work_guard(*c));
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < contexts.size(); ++i) heartbeats[i] = now;
    if (registry) {
      ack_latency = &registry->get_histogram(
          "dlrd_ack_latency_seconds", "Time from a callback fully read to its durable answer being ready.",
          metrics::latency_buckets());
      quarantined = &registry->get_counter("dlrd_quarantined_total",
                                           "Undecodable callbacks stored in quarantine (acked once durable).");
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
      auto state = std::make_shared<session_state>(std::move(socket));
      std::list<std::shared_ptr<session_state>>::iterator it;
      bool over = false;
      {
        std::lock_guard lock(sessions_mutex);
        over = sessions.size() >= listen.max_connections;
        if (!over) it = sessions.insert(sessions.end(), state);
      }
      if (over) {
        ++refused;
        asio::co_spawn(state->socket.get_executor(), refuse(state), asio::detached);
        continue;
      }
      ++accepted;
      auto self = shared_from_this();
      asio::co_spawn(state->socket.get_executor(), run_session(state),
                     [self, it](std::exception_ptr e) {
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           spdlog::error("session ended by an exception: {}", ex.what());
                         }
                       }
                       std::lock_guard lock(self->sessions_mutex);
                       self->sessions.erase(it);
                       if (self->sessions.empty()) self->sessions_done.notify_all();
                     });
    }
  }

  asio::awaitable<void> refuse(std::shared_ptr<session_state> s) {
    error_code ec;
    s->timer.expires_after(std::chrono::seconds(1));
    s->timer.async_wait([s](error_code e) {
      if (!e) s->socket.close();
    });
    co_await asio::async_write(s->socket, asio::buffer(refused_response.data(), refused_response.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    s->timer.cancel();
    s->socket.shutdown(tcp::socket::shutdown_both, ec);
    s->socket.close(ec);
  }

  /// Arms the per-operation deadline: on expiry the socket's operations are cancelled
  /// (not the socket closed), so that a 408 can still be written.
  void arm(session_state& s, std::chrono::milliseconds d) {
    s.timed_out = false;
    s.timer.expires_after(d);
    s.timer.async_wait([&s](error_code e) {
      if (!e) {
        s.timed_out = true;
        error_code ignored;
        s.socket.cancel(ignored);
      }
    });
  }

  void count(unsigned code) {
    if (code < 300) ++r2xx;
    else if (code < 500) ++r4xx;
    else ++r5xx;
  }

  asio::awaitable<bool> write(session_state& s, response& res, std::string_view route) {
    res.prepare_payload();
    count(res.result_int());
    count_route(route, res.result_int());
    error_code ec;
    arm(s, listen.write_timeout);
    co_await bhttp::async_write(s.socket, res, asio::redirect_error(asio::use_awaitable, ec));
    s.timer.cancel();
    co_return !ec;
  }

  /// Answers an edge error (431, 413, 408, 400) and closes the connection.
  asio::awaitable<void> fail(session_state& s, bhttp::status code, std::string_view reason,
                             std::string_view route = "other") {
    auto res = handler::error(11, code, reason);
    res.keep_alive(false);
    co_await write(s, res, route);
  }

  asio::awaitable<void> run_session(std::shared_ptr<session_state> sp) {
    auto& s = *sp;
    beast::flat_buffer buffer;
    std::string peer;
    {
      error_code pec;
      auto ep = s.socket.remote_endpoint(pec);
      if (!pec) peer = ep.address().to_string();
    }
    for (;;) {
      error_code ec;
      if (buffer.size() == 0) {
        // Idle between requests: a shutdown may close the connection here.
        if (stopping) break;
        s.idle = true;
        arm(s, listen.idle_timeout);
        auto n = co_await s.socket.async_read_some(buffer.prepare(4096), asio::redirect_error(asio::use_awaitable, ec));
        s.timer.cancel();
        s.idle = false;
        if (ec) break;  // closed by the peer, idle timeout, or shutdown
        buffer.commit(n);
      }

      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(listen.header_limit));
      parser.body_limit(listen.body_limit);
      arm(s, listen.read_timeout);
      co_await bhttp::async_read_header(s.socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        s.timer.cancel();
        if (ec == bhttp::error::header_limit) {
          co_await fail(s, bhttp::status::request_header_fields_too_large, "request header exceeds the limit");
        } else if (ec == bhttp::error::body_limit) {
          // Beast checks Content-Length against the body limit as soon as the header is in.
          co_await fail(s, bhttp::status::payload_too_large,
                        "declared body exceeds the limit of " + std::to_string(listen.body_limit) + " bytes");
        } else if (s.timed_out) {
          co_await fail(s, bhttp::status::request_timeout, "request header not received in time");
        } else if (is_malformed(ec)) {
          co_await fail(s, bhttp::status::bad_request, "malformed request: " + ec.message());
        }
        break;
      }
      ++requests;
      const auto route = handler::route_of(parser.get().target());
      auto declared = parser.content_length();
      if (declared && *declared > listen.body_limit) {
        s.timer.cancel();
        co_await fail(s, bhttp::status::payload_too_large,
                      "body of " + std::to_string(*declared) + " bytes exceeds the limit of " +
                          std::to_string(listen.body_limit),
                      route);
        break;
      }
      if (parser.get()[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        co_await bhttp::async_write(s.socket, cont, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
      }
      co_await bhttp::async_read(s.socket, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
      s.timer.cancel();
      if (ec) {
        if (ec == bhttp::error::body_limit) {
          co_await fail(s, bhttp::status::payload_too_large, "body exceeds the limit", route);
        } else if (s.timed_out) {
          co_await fail(s, bhttp::status::request_timeout, "request body not received in time", route);
        } else if (is_malformed(ec)) {
          co_await fail(s, bhttp::status::bad_request, "malformed request: " + ec.message(), route);
        }
        break;
      }

      auto req = parser.release();
      const auto read_done = std::chrono::steady_clock::now();
      auto out = handle.handle(req, request_context{report::now(), peer, false});
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
      } else {
        res = std::move(out.immediate);
      }
      res.version(req.version());
      res.keep_alive(req.keep_alive() && !stopping);
      if (!co_await write(s, res, route)) break;
      if (!res.keep_alive()) break;
    }
    error_code ignored;
    s.socket.shutdown(tcp::socket::shutdown_send, ignored);
    s.socket.close(ignored);
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
  c.requests = d.requests;
  c.responses_2xx = d.r2xx;
  c.responses_4xx = d.r4xx;
  c.responses_5xx = d.r5xx;
  std::lock_guard lock(d.sessions_mutex);
  c.active_connections = d.sessions.size();
  return c;
}

}  // namespace dlrd::http
