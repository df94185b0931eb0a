// Failure-notice sinks that follow the configuration: a reload that changes the sinks or
// their knobs replaces the dispatcher, and the per-sink counters stay cumulative.
#pragma once

#include <dlrd/alert/dispatcher.hpp>
#include <dlrd/metrics/metrics.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace dlrd::app {

/// Owns the running alert::dispatcher. Not copyable; start(), apply() and stop() are for the
/// main thread; the metric series it registers may be read from any thread.
class live_alerts {
 public:
  live_alerts(store::database_config db, alert::alert_config config, metrics::registry& registry);
  ~live_alerts();
  live_alerts(const live_alerts&) = delete;
  live_alerts& operator=(const live_alerts&) = delete;

  void start();
  /// Runs `next` instead when it differs from the running section (failed_statuses aside:
  /// the writers read those, so they need a restart). The old dispatcher stops first
  /// (its in-flight sends are recorded as failed and retried at once by the new one), so a
  /// notice is never sent by both. Returns true when the sinks were replaced.
  bool apply(const alert::alert_config& next);
  void stop();
  /// The running dispatcher's sinks, by name. Safe from any thread.
  std::vector<std::string> sink_names() const;

 private:
  void register_series(const std::string& sink);
  std::uint64_t total(const std::string& sink, std::uint64_t alert::sink_counters::*field) const;

  store::database_config db_;
  alert::alert_config config_;
  metrics::registry& registry_;
  mutable std::mutex mutex_;  // guards current_ and retired_ against the metrics reader
  std::unique_ptr<alert::dispatcher> current_;
  std::map<std::string, alert::sink_counters> retired_;  ///< totals of replaced dispatchers, by sink
  std::set<std::string> registered_;
};

}  // namespace dlrd::app
