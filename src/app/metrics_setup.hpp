// The daemon's metric series that no module registers itself: build info, reloads, spool and
// connection gauges, the database's reachability and the alert outbox's backlog, the status
// API's counters, rate-rule rounds, refused callers and unknown status words.
#pragma once

#include <dlrd/alert/rules.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/metrics/metrics.hpp>
#include <dlrd/spool/spool.hpp>
#include <dlrd/status/api.hpp>
#include <dlrd/store/config.hpp>
#include <dlrd/store/connection.hpp>

#include "writer_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace dlrd::app {

/// dlrd_config_reloads_total by result.
struct reload_counters {
  metrics::counter& applied;
  metrics::counter& refused;
};

/// dlrd_build_info, the process_* series, dlrd_leader{jobs} and the reload counters, registered
/// first.
reload_counters register_daemon_series(metrics::registry& reg);

/// Spool statistics and connection counters, read when /metrics is rendered.
void register_gauges(metrics::registry& reg, spool::journal& journal, const http::server& listener);

/// dlrd_database_up and dlrd_alert_outbox_backlog{sink}. A thread of its own reads each
/// configured sink's backlog every `period`, on a connection of its own, so the figures move
/// without traffic and a scrape never waits on PostgreSQL. The database is up when that read
/// succeeded and no writer's last attempt failed. A sink no longer configured reads 0.
/// Thread-safety: start() and stop() from the controlling thread; the series from any thread.
class database_gauges {
 public:
  /// `sinks` is called on the gauges' thread and must be thread-safe.
  database_gauges(metrics::registry& reg, const store::database_config& db, std::chrono::milliseconds period,
                  const writer_pool& writers, std::function<std::vector<std::string>()> sinks);
  ~database_gauges();
  database_gauges(const database_gauges&) = delete;
  database_gauges& operator=(const database_gauges&) = delete;

  void start();
  void stop();

 private:
  void run();
  /// One read of the backlog into the gauges; PostgreSQL's error when it did not answer.
  std::string read_backlog(store::connection& db);

  metrics::registry& registry_;
  std::string url_;
  std::chrono::milliseconds period_;
  std::function<std::vector<std::string>()> sinks_;
  std::atomic<bool> reachable_{false};  // not known to be up before the first read
  std::set<std::string> known_;         // sinks given a series; the thread's own
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

/// The status API's waiters and totals, read when /metrics is rendered.
void register_status_gauges(metrics::registry& reg, const status::service& api);

/// Counts each rate-rule round: groups firing by rule, and the transitions.
std::function<void(const alert::rule_evaluation&)> rule_round_series(metrics::registry& reg);

/// dlrd_auth_failures_total{profile,reason}, for handler_config::on_auth_failure.
std::function<void(std::string_view, std::string_view)> auth_failure_series(metrics::registry& reg);

/// dlrd_unknown_status_total{profile,word}: a gateway's new status word is worth seeing, but a
/// hostile or broken caller must not create unbounded series, so words past the first
/// `max_words` distinct ones count under word="other".
/// Thread-safety: count() from any thread.
class unknown_words {
 public:
  explicit unknown_words(metrics::registry& r) : registry_(r) {}
  void count(std::string_view profile, std::string_view word);

 private:
  static constexpr std::size_t max_words = 200;
  metrics::registry& registry_;
  std::mutex mutex_;
  std::set<std::string> seen_;
};

}  // namespace dlrd::app
