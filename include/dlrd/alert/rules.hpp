// Failure-rate rules: their config, the pure fire/resolve decision, the leader-only
// evaluator (counts and state kept by store::rule_store) and the thread that runs it.
#pragma once

#include <dlrd/common/background_loop.hpp>
#include <dlrd/config/yaml.hpp>
#include <dlrd/store/rule_rounds.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::alert {

/// What a rule compares with its threshold.
enum class rate_threshold {
  failed_share_above,     ///< fires when failed / final > threshold
  delivered_share_below,  ///< fires when delivered / final < threshold
  /// Coverage: of the messages sent between `window` and `grace` ago (old enough that a
  /// report should have come), fires when the share still without a final report > threshold.
  pending_share_above,
  /// Silence: fires when no report was accepted in the last `window` although at least
  /// `min_messages` sends were logged in it (with min_messages 0: no report at all).
  silent,
};

/// One entry of `alerts.rules`. Plain value; copy freely.
struct rate_rule {
  std::string name;                                     ///< unique among the rules
  std::chrono::milliseconds window{std::chrono::hours(1)};
  /// Statuses counted as failed; a subset of the failed finals (undelivered, rejected, expired).
  std::vector<std::string> failed_statuses{"undelivered", "rejected", "expired"};
  rate_threshold kind = rate_threshold::failed_share_above;
  double threshold = 0.05;                              ///< a share in [0, 1]
  std::int64_t min_messages = 100;                      ///< messages needed before it can fire
  /// Failure-rate rules: or this many failed in the window (0: off), so that a low-volume
  /// sender whose every message fails is alerted before it reaches min_messages.
  std::int64_t min_failed = 0;
  /// Failure-rate rules: count the messages an expiry rule expired (expired_by 'policy') as
  /// carrier outcomes too; by default they are left out (the carrier said nothing).
  bool include_policy_expiry = false;
  /// Coverage rules: the time a report normally needs; younger sends are not counted yet.
  std::chrono::milliseconds grace{std::chrono::minutes(15)};
  bool group_by_country = false;                        ///< `group_by: country` or `country_provider`
  bool group_by_provider = false;                       ///< `group_by: provider` or `country_provider`
  std::optional<std::string> provider;                  ///< `filters.provider`
  std::optional<std::string> sender;                    ///< `filters.sender`
  /// A firing group resolves only once the share is this far back on the good side.
  double hysteresis = 0.01;
  std::chrono::milliseconds interval{std::chrono::minutes(1)};

  bool operator==(const rate_rule&) const = default;
};

/// The seed's two rate rules: "failure-rate" (more than 5% failed in 1h, all traffic) and
/// "country-delivery" (a country under 85% delivered in 1h, at least 100 messages); and the
/// two ways the seed says one is "flying blind": "country-coverage" (of a country's messages
/// sent 6h to 15m ago, more than 30% still without a final report, at least 50 messages) and
/// "gateway-silence" (a provider sent 20 or more messages in 30 minutes and no report came).
std::vector<rate_rule> default_rate_rules();

/// Parses one list entry (a mapping) into `out`; absent keys keep `out`'s values.
/// Reports unknown keys of the entry (and of its `filters`) itself.
void parse(config::section& entry, rate_rule& out);

/// Reads the `rules` list of the `alerts` section into `out`. When `rules` is absent, `out`
/// is left as it is (so start it at default_rate_rules()); `rules: []` means no rules.
/// Checks that names are unique. Errors carry key paths such as `alerts.rules[1].window`.
void parse_rules(config::section& alerts, std::vector<rate_rule>& out);

/// The rule's `group_by` as written in the config: none, country, provider, country_provider.
const char* group_by_name(const rate_rule& rule);
/// The config key that sets a threshold of this kind (failed_share_above, ..., silent_for).
const char* threshold_key(rate_threshold kind);

/// The store query that counts `rule`'s window.
store::window_query window_of(const rate_rule& rule);

/// One round's decision for one group: a pure function of the counts and the state.
struct decision {
  double share = 0;        ///< the share compared with the threshold (silence: the reports' count)
  std::int64_t counted = 0;  ///< what the share was taken of: failed, pending or reports
  bool now_firing = false;
};
decision decide(const rate_rule& rule, const store::window_counts& counts, bool was_firing);

/// The notice for a group's move into (`d.now_firing`) or out of the firing state: the
/// group's country and provider for the sinks' fields, and the details the formats read.
store::rule_notice notice_for(const rate_rule& rule, const std::string& group_key, const store::window_counts& counts,
                              const decision& d);

/// A group's move into or out of the firing state in one evaluation.
struct rule_transition {
  std::string rule;
  std::string group_key;  ///< "" without group_by; the country, provider or "country/provider" ("unknown" when NULL)
  bool fired = false;     ///< true: rate_rule_fired; false: rate_rule_resolved
  std::int64_t failed = 0;
  std::int64_t delivered = 0;
  std::int64_t total = 0;  ///< final messages in the window (coverage: sent; silence: sent in the window)
  std::int64_t pending = 0;  ///< coverage: sent messages still without a final report
  std::int64_t reports = 0;  ///< silence: reports accepted in the window
  double share = 0;        ///< the share compared with the threshold
};

/// What one evaluate_once() did.
struct rule_evaluation {
  bool leader = false;  ///< false: another session holds the lock; nothing was evaluated
  std::vector<rule_transition> transitions;
  /// Groups firing per configured rule (0 included) as stored in dlr_rule_state after this
  /// round, read by leader and followers alike so every instance reports the same.
  std::map<std::string, std::int64_t> firing;
};

/// Evaluates rate rules over sms_logs and keeps dlr_rule_state; only the leader works.
///
/// Leadership: the first evaluate_once() that can takes the store's sticky session lock
/// (store::rule_store) and keeps it for as long as that connection lives. When the
/// connection breaks the lock goes with it, the evaluator reconnects on the next call and
/// competes again, so another instance takes over within one interval. Each rule's state
/// change and its notices are one transaction (store::rule_round).
/// Not thread-safe: use one evaluator from one thread (rule_runner does).
class rule_evaluator {
 public:
  rule_evaluator(std::vector<rate_rule> rules, std::string url);

  /// Evaluates every rule once if this evaluator is (or becomes) the leader. Throws on
  /// database errors; the connection is dropped then (releasing the lock) and remade on
  /// the next call.
  rule_evaluation evaluate_once();

  /// Replaces the rules (e.g. after a config reload); takes effect on the next evaluation.
  void set_rules(std::vector<rate_rule> rules) { rules_ = std::move(rules); }
  const std::vector<rate_rule>& rules() const { return rules_; }

  /// True while this evaluator's connection holds the leader lock.
  bool leader() const { return store_.leader(); }

 private:
  std::vector<rule_transition> evaluate_rule(const rate_rule& rule);

  std::vector<rate_rule> rules_;
  store::rule_store store_;
};

/// Runs a rule_evaluator on its own thread every min(rule intervals), logging transitions
/// and errors (an error never stops the thread; it retries at the next tick).
/// start(), stop() and set_rules() are thread-safe; stop() is idempotent and is called by
/// the destructor. With no rules the thread idles.
class rule_runner {
 public:
  rule_runner(std::vector<rate_rule> rules, std::string url);
  ~rule_runner();
  rule_runner(const rule_runner&) = delete;
  rule_runner& operator=(const rule_runner&) = delete;

  void start();
  /// Wakes the thread, waits for the evaluation in progress (if any) and joins.
  void stop();
  /// New rules for the next tick (SIGHUP reload).
  void set_rules(std::vector<rate_rule> rules);
  /// Evaluations completed (leader or not), for tests and health.
  std::uint64_t rounds() const;
  /// Called on the runner's thread after every successful round (metrics). Set before start().
  void on_round(std::function<void(const rule_evaluation&)> f) { on_round_ = std::move(f); }

 private:
  background_loop::clock::time_point round(rule_evaluator& evaluator, bool& was_leader);

  // Guarded by loop_'s lock.
  std::vector<rate_rule> rules_;
  bool rules_changed_ = false;
  std::uint64_t rounds_ = 0;

  std::function<void(const rule_evaluation&)> on_round_;
  std::string url_;
  background_loop loop_;  // last: stopped before the members its rounds use go
};

/// "1h", "30m", "15s" or "250ms": how durations read in notices and logs.
std::string format_duration(std::chrono::milliseconds d);

}  // namespace dlrd::alert
