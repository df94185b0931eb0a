// What rate rules need from PostgreSQL: window counts over sms_logs and dlr_events, the
// per-group state in dlr_rule_state, and the notices, one transaction per rule and round.
// The decisions themselves (thresholds, hysteresis, fire/resolve) are alert's, not store's.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::store {

/// What one window query counts.
enum class window_kind {
  finals,    ///< final reports by their time: total, failed (in failed_statuses), delivered
  coverage,  ///< sends between `window` and `grace` ago: total, pending (no final report), delivered
  silence,   ///< sends logged in the window (total) and reports committed in it (reports)
};

/// One rule's window query: which rows, counted how, grouped by what.
struct window_query {
  window_kind kind = window_kind::finals;
  std::chrono::milliseconds window{std::chrono::hours(1)};
  std::chrono::milliseconds grace{0};  ///< coverage only
  bool by_country = false;
  bool by_provider = false;
  std::optional<std::string> provider;  ///< filters.provider
  std::optional<std::string> sender;    ///< filters.sender (from_number)
  std::vector<std::string> failed_statuses;
  /// finals only: count policy expiries (sms_logs.expired_by) as final reports; coverage
  /// always counts them as still without a carrier report.
  bool include_policy_expiry = false;
};

/// What a window query counted for one group.
struct window_counts {
  std::int64_t total = 0, failed = 0, delivered = 0, pending = 0, reports = 0;
};

/// A group's row in dlr_rule_state after a round.
struct group_record {
  std::string group_key;
  bool firing = false;
  double share = 0;
  std::int64_t counted = 0;  ///< last_failed: the count the share was taken of
  std::int64_t total = 0;
};

/// A rate_rule_fired / rate_rule_resolved row for dlr_alert_outbox.
struct rule_notice {
  bool fired = false;
  std::string country, provider, sender;  ///< "" stored as NULL
  std::string details_json;
};

/// One rule's round: a transaction holding the rule's transaction lock (so even two
/// evaluators that both believed they lead cannot notify twice). Nothing is kept unless
/// commit() is called. Obtained from rule_store::begin().
class rule_round {
 public:
  ~rule_round();
  rule_round(rule_round&&) noexcept;
  rule_round& operator=(rule_round&&) = delete;

  /// The groups of this rule in dlr_rule_state and whether each is firing.
  std::map<std::string, bool> state();
  /// Counts the window, one entry per group with rows (silence without a provider grouping:
  /// always the "" group, since no traffic at all is silence too).
  std::map<std::string, window_counts> count(const window_query& q);
  void record(const group_record& r);
  void notify(const rule_notice& n);
  void commit();

 private:
  friend class rule_store;
  struct impl;
  explicit rule_round(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// The rate rules' own session: leadership by a sticky session advisory lock (see
/// leader_session), rounds on the same connection. Time is the database's now(), one clock
/// for every instance. Not thread-safe: one owner thread.
class rule_store {
 public:
  /// Fixed key of the advisory lock that elects the leader ("dlrdrule").
  static constexpr std::int64_t leader_lock_key = 0x646c7264'72756c65;

  explicit rule_store(std::string url);
  ~rule_store();
  rule_store(const rule_store&) = delete;
  rule_store& operator=(const rule_store&) = delete;

  /// Connects when needed and tries the lock; true while this session holds it.
  bool lead();
  bool leader() const;
  /// Drops the connection and with it the lock (after an error).
  void reset();
  /// Starts `rule`'s round; valid until the next call on this store.
  rule_round begin(const std::string& rule);
  /// Groups firing per rule, as stored now (leader and followers alike).
  std::map<std::string, std::int64_t> firing_counts();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dlrd::store
