// The notice dispatcher: one thread per sink claims due failure notices from the outbox,
// sends them, records the outcome, backs off on failure and folds bursts into digests.
#pragma once

#include <dlrd/alert/config.hpp>
#include <dlrd/alert/sink.hpp>
#include <dlrd/store/config.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::alert {

/// Running totals of one sink, for metrics.
struct sink_counters {
  std::string sink;
  std::uint64_t claimed = 0;    ///< notices claimed from the outbox (first tries and retries)
  std::uint64_t sent = 0;       ///< notices delivered one by one
  std::uint64_t digested = 0;   ///< notices delivered folded into a digest
  std::uint64_t digests = 0;    ///< digest messages delivered
  std::uint64_t failed = 0;     ///< notice attempts that failed and were scheduled for a retry
  std::uint64_t dropped = 0;    ///< notices dropped as older than max_age
};

/// Knobs tests need; the defaults are what dlrd runs with.
struct dispatcher_options {
  /// The rate limit's window: max_per_minute messages per this much time.
  std::chrono::milliseconds rate_window{60'000};
  /// How long a claimed notice stays leased to this process before another may claim it
  /// (only matters after a crash); longer than rate_window plus a sink timeout.
  std::chrono::milliseconds lease{300'000};
  /// Notices held in memory for the next digest, per sink; claiming pauses past this.
  std::size_t held_max = 10'000;
};

/// Owns one thread and one PostgreSQL connection per sink, so a slow sink delays only
/// itself, and ingestion never waits for alerting. Several dispatchers (in one process or
/// in several dlrd instances) may run on the same database: each notice goes to each sink
/// once (exactly once unless a process dies between sending and recording it).
/// start() and stop() are for one controlling thread; counters() is safe from any thread.
class dispatcher {
 public:
  dispatcher(store::database_config db, alert_config config, dispatcher_options options = {});
  /// With sinks made by the caller (tests); `config.sinks` is ignored.
  dispatcher(store::database_config db, alert_config config, std::vector<std::unique_ptr<sink>> sinks,
             dispatcher_options options = {});
  ~dispatcher();  ///< stops
  dispatcher(const dispatcher&) = delete;
  dispatcher& operator=(const dispatcher&) = delete;

  void start();
  /// Cancels in-flight sends (each aborts within ~50 ms), records them as failed with no
  /// delay so they are retried at once after a restart, and joins the threads.
  void stop();

  std::vector<sink_counters> counters() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dlrd::alert
