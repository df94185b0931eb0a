// The listener: binds, accepts, enforces the connection limits (in all and per source address),
// spawns one session coroutine per connection on one of the I/O threads, and stops in order.
#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include <dlrd/http/server.hpp>

#include "ack.hpp"
#include "listener_metrics.hpp"
#include "session.hpp"
#include "tls.hpp"

#include <dlrd/common/thread_name.hpp>
#include <dlrd/metrics/metrics.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace dlrd::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

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

std::vector<std::unique_ptr<asio::io_context>> make_contexts(int n) {
  std::vector<std::unique_ptr<asio::io_context>> out;
  for (int i = 0; i < std::max(n, 1); ++i) out.push_back(std::make_unique<asio::io_context>(1));
  return out;
}

/// Logs what ended a coroutine by an exception.
void log_exception(std::exception_ptr e, spdlog::level::level_enum level, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::log(level, "{}: {}", what, ex.what());
  }
}

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  using session_list = std::list<std::shared_ptr<session_state>>;

  listen_config listen;
  handler handle;
  listener_metrics counts;
  answerer answers;
  tls_contexts tls;
  // One single-threaded io_context per I/O thread: a session lives on one thread for its
  // whole life, so it needs no strand and its handlers take no locks.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::size_t next_context = 0;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  session_env env{listen, handle, answers, counts, stopping};

  std::mutex sessions_mutex;
  std::condition_variable sessions_done;
  session_list sessions;
  std::unordered_map<std::string, std::size_t> sessions_per_ip;

  // Per I/O thread: steady_clock ticks of the event loop's last heartbeat.
  std::unique_ptr<std::atomic<std::int64_t>[]> heartbeats;

  impl(listen_config l, handler_config h, spool::journal& j, metrics::registry* m)
      : listen(std::move(l)), handle(counting_ignored(std::move(h), m)), counts(m),
        answers(j, counts, listen.retry_after_seconds), tls(listen.tls), contexts(make_contexts(listen.threads)),
        acceptor(*contexts.front()), heartbeats(std::make_unique<std::atomic<std::int64_t>[]>(contexts.size())) {
    for (auto& c : contexts) guards.push_back(asio::make_work_guard(*c));
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < contexts.size(); ++i) heartbeats[i] = now;
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

  asio::io_context& pick_context() {
    auto& c = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    return c;
  }

  /// Takes the connection in as a session, or says which limit it is over.
  std::optional<rejection> admit(const std::shared_ptr<session_state>& state, session_list::iterator& at) {
    std::lock_guard lock(sessions_mutex);
    if (sessions.size() >= listen.max_connections) return rejection::too_many_connections;
    auto& from_peer = sessions_per_ip[state->peer];
    if (listen.max_connections_per_ip > 0 && from_peer >= listen.max_connections_per_ip) {
      return rejection::too_many_connections_per_ip;
    }
    at = sessions.insert(sessions.end(), state);
    ++from_peer;
    return std::nullopt;
  }

  void release(session_list::iterator it) {
    std::lock_guard lock(sessions_mutex);
    auto per_ip = sessions_per_ip.find((*it)->peer);
    if (per_ip != sessions_per_ip.end() && --per_ip->second == 0) sessions_per_ip.erase(per_ip);
    sessions.erase(it);
    if (sessions.empty()) sessions_done.notify_all();
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
      auto context = tls.current();
      session_list::iterator it;
      if (auto over = admit(state, it)) {
        counts.refused(*over);
        asio::co_spawn(state->socket.get_executor(), refuse_connection(env, state, context != nullptr, *over),
                       asio::detached);
        continue;
      }
      counts.accepted();
      asio::co_spawn(state->socket.get_executor(), run_connection(env, state, std::move(context)),
                     [self = shared_from_this(), it](std::exception_ptr e) {
                       // A session's exception never stops the listener.
                       log_exception(e, spdlog::level::err, "session ended by an exception");
                       self->release(it);
                     });
    }
  }

  /// Cancels the pending operations of idle sessions (`only_idle`) or of all, closing them.
  void close_sessions(bool only_idle) {
    std::lock_guard lock(sessions_mutex);
    for (auto& sp : sessions) {
      asio::post(sp->socket.get_executor(), [sp, only_idle] {
        if (only_idle && !sp->idle) return;
        error_code ignored;
        sp->socket.cancel(ignored);
        if (!only_idle) sp->socket.close(ignored);
      });
    }
  }

  /// Closes idle sessions until none is left or `grace` has passed: sessions that just
  /// finished a request are idle now.
  void wait_for_sessions(std::chrono::milliseconds grace) {
    std::unique_lock lock(sessions_mutex);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!sessions.empty()) {
      lock.unlock();
      close_sessions(true);
      lock.lock();
      auto wake = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
      if (sessions_done.wait_until(lock, wake, [this] { return sessions.empty(); })) break;
      if (std::chrono::steady_clock::now() >= deadline) break;
    }
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
  asio::co_spawn(*d.contexts.front(), d.accept_loop(),
                 [](std::exception_ptr e) { log_exception(e, spdlog::level::critical, "listener stopped"); });
  for (std::size_t i = 0; i < d.contexts.size(); ++i) {
    asio::co_spawn(*d.contexts[i], d.heartbeat(i), asio::detached);
  }
  for (std::size_t i = 0; i < d.contexts.size(); ++i) {
    d.threads.push_back(named_thread("dlrd-http-" + std::to_string(i), [ctx = d.contexts[i].get()] { ctx->run(); }));
  }
}

void server::stop(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  d.stopping = true;
  asio::post(d.acceptor.get_executor(), [&d] {
    error_code ignored;
    d.acceptor.close(ignored);
  });
  d.close_sessions(true);
  d.wait_for_sessions(grace);
  d.close_sessions(false);
  {
    std::unique_lock lock(d.sessions_mutex);
    d.sessions_done.wait_for(lock, std::chrono::seconds(2), [&d] { return d.sessions.empty(); });
  }
  d.guards.clear();
  d.answers.stop();
  for (auto& c : d.contexts) c->stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
}

void server::reload_tls() { impl_->tls.reload(); }

void server::reload_tls(const tls_config& files) { impl_->tls.reload(files); }

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
  auto c = impl_->counts.counters();
  std::lock_guard lock(impl_->sessions_mutex);
  c.active_connections = impl_->sessions.size();
  return c;
}

}  // namespace dlrd::http
