// The daemon's metric series that no module registers itself: build info, reloads, spool and
// connection gauges, the status API's counters, rate-rule rounds, refused callers and unknown
// status words.
#pragma once

#include <dlrd/alert/rules.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/metrics/metrics.hpp>
#include <dlrd/spool/spool.hpp>
#include <dlrd/status/api.hpp>

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

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
