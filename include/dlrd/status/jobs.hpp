// Leader-only periodic jobs of the status API: application-level expiry of stale pending
// messages (through the ordinary write path) and retention of old rows.
#pragma once

#include <dlrd/common/background_loop.hpp>
#include <dlrd/report/report.hpp>
#include <dlrd/status/config.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::store {
class leader_session;
}

namespace dlrd::status {

/// Makes reports durable in the spool (the ingest path), so the writers store them like any
/// gateway's: returns true once they are durable, false when they were refused (spool full,
/// shutting down). May block.
using report_sink = std::function<bool(std::vector<report::delivery_report>)>;

/// The provider and raw-status prefix of the reports the expiry job makes.
inline constexpr std::string_view expiry_provider = "dlrd";
inline constexpr std::string_view expiry_raw_prefix = "dlrd:expired:";

/// What one expire_once() did.
struct expiry_run {
  bool leader = false;                         ///< false: another session leads; nothing done
  std::size_t expired = 0;                     ///< reports made durable
  std::map<std::string, std::size_t> by_rule;  ///< of those, per rule
};

/// What one retain_once() did.
struct retention_run {
  bool leader = false;
  std::size_t partitions_created = 0;  ///< daily dlr_events partitions made ahead
  std::size_t partitions_dropped = 0;  ///< dlr_events partitions dropped whole, all of them expired
  std::size_t partitions_busy = 0;     ///< left for the next run: their locks were not granted in time
  std::size_t events_deleted = 0;      ///< rows deleted from dlr_events' default partition
  std::size_t sms_logs_deleted = 0;
  std::size_t notices_deleted = 0;     ///< alert notices no sink still owes (dlr_alert_outbox)
};

/// Runs the jobs on one PostgreSQL connection while it holds the session advisory lock
/// `leader_lock_key` (a sticky leader, like store::rule_evaluator: the lock goes with the
/// connection; a broken connection is remade on the next call, which competes again).
/// Time is the database's clock. Not thread-safe: use one from one thread.
class leader_jobs {
 public:
  /// Fixed key of the advisory lock that elects the leader ("dlrdstat").
  static constexpr std::int64_t leader_lock_key = 0x646c7264'73746174;

  leader_jobs(expiry_config expiry, retention_config retention, std::string url, report_sink sink);
  ~leader_jobs();
  leader_jobs(const leader_jobs&) = delete;
  leader_jobs& operator=(const leader_jobs&) = delete;

  /// Finds at most `expiry.batch` pending messages past a rule's `after` (rules with the
  /// shortest `after` first; a message once) and hands one `expired` report per message to
  /// the sink: raw status "dlrd:expired:<rule>", provider "dlrd", event time = send time +
  /// after (so a replay or a second leader makes the same, deduplicated report). A real
  /// `delivered` arriving later still wins by the convergence rule. Throws on database errors.
  expiry_run expire_once();

  /// Makes the daily dlr_events partitions ahead (store/partitions.hpp) and, when
  /// `events_after` is set, drops the partitions whose whole range is older and deletes at
  /// most `retention.batch` old rows of the default partition; deletes as many old final
  /// sms_logs rows when `sms_logs_after` is set. Each change in a transaction of its own.
  retention_run retain_once();

  void set_config(expiry_config expiry, retention_config retention);
  bool leader() const;

 private:
  expiry_config expiry_;
  retention_config retention_;
  report_sink sink_;
  std::unique_ptr<store::leader_session> session_;
};

/// Runs leader_jobs on its own thread: expiry every `expiry.interval` (when there are
/// rules), retention (partitions ahead included, so always) every `retention.interval` and
/// again at once while a run deletes a full batch. Errors are logged and retried at the next
/// tick. Thread-safe; stop() is idempotent and called by the destructor.
class leader_jobs_runner {
 public:
  leader_jobs_runner(expiry_config expiry, retention_config retention, std::string url, report_sink sink);
  ~leader_jobs_runner();
  leader_jobs_runner(const leader_jobs_runner&) = delete;
  leader_jobs_runner& operator=(const leader_jobs_runner&) = delete;

  void start();
  void stop();
  void set_config(expiry_config expiry, retention_config retention);

 private:
  struct schedule;
  background_loop::clock::time_point round(leader_jobs& jobs, schedule& next);

  // Guarded by loop_'s lock.
  expiry_config expiry_;
  retention_config retention_;
  bool changed_ = false;

  std::string url_;
  report_sink sink_;
  background_loop loop_;  // last: stopped before the members its rounds use go
};

}  // namespace dlrd::status
