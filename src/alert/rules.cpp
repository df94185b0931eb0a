// Rate rules: the pure fire/resolve decision, the notice it produces, the leader-only
// evaluator over store::rule_store and the runner thread.
#include <dlrd/alert/rules.hpp>

#include <dlrd/store/leader.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace dlrd::alert {

namespace {

using namespace std::chrono_literals;

/// The counted groups plus every group firing now (evaluated as empty when it has no rows).
std::map<std::string, store::window_counts> with_firing(std::map<std::string, store::window_counts> groups,
                                                        const std::map<std::string, bool>& firing) {
  for (const auto& [key, is_firing] : firing) {
    if (is_firing) groups.try_emplace(key);
  }
  return groups;
}

}  // namespace

store::window_query window_of(const rate_rule& rule) {
  store::window_query q;
  q.kind = rule.kind == rate_threshold::pending_share_above ? store::window_kind::coverage
           : rule.kind == rate_threshold::silent            ? store::window_kind::silence
                                                            : store::window_kind::finals;
  q.window = rule.window;
  q.grace = rule.grace;
  q.by_country = rule.group_by_country;
  q.by_provider = rule.group_by_provider;
  q.provider = rule.provider;
  q.sender = rule.sender;
  q.failed_statuses = rule.failed_statuses;
  q.include_policy_expiry = rule.include_policy_expiry;
  return q;
}

decision decide(const rate_rule& rule, const store::window_counts& c, bool was_firing) {
  decision d;
  bool crossed = false, cleared = false;
  auto share_of = [&c](std::int64_t part) {
    return c.total > 0 ? static_cast<double>(part) / static_cast<double>(c.total) : 0.0;
  };
  switch (rule.kind) {
    case rate_threshold::failed_share_above:
    case rate_threshold::pending_share_above:
      d.counted = rule.kind == rate_threshold::pending_share_above ? c.pending : c.failed;
      d.share = share_of(d.counted);
      crossed = c.total > 0 && d.share > rule.threshold;
      // No message left in the window: nothing is failing any more.
      cleared = c.total == 0 || d.share < rule.threshold - rule.hysteresis;
      break;
    case rate_threshold::delivered_share_below:
      d.counted = c.failed;
      d.share = share_of(c.delivered);
      crossed = c.total > 0 && d.share < rule.threshold;
      cleared = c.total == 0 || d.share > rule.threshold + rule.hysteresis;
      break;
    case rate_threshold::silent:
      // The share is the reports' count: zero while silent. One report resolves it.
      d.counted = c.reports;
      d.share = static_cast<double>(c.reports);
      crossed = c.reports == 0;
      cleared = c.reports > 0;
      break;
  }
  d.now_firing = was_firing;
  // Enough messages to trust the share, or enough failures to matter whatever the volume.
  const bool enough = c.total >= rule.min_messages || (rule.min_failed > 0 && c.failed >= rule.min_failed);
  if (!was_firing && crossed && enough) d.now_firing = true;
  if (was_firing && cleared) d.now_firing = false;
  return d;
}

store::rule_notice notice_for(const rate_rule& rule, const std::string& key, const store::window_counts& c,
                              const decision& d) {
  nlohmann::json details = {
      {"rule", rule.name},
      {"group_by", group_by_name(rule)},
      {"group_key", key},
      {"window", format_duration(rule.window)},
      {"window_seconds", rule.window.count() / 1000},
      {"threshold_kind", threshold_key(rule.kind)},
      {"threshold", rule.threshold},
      {"hysteresis", rule.hysteresis},
      {"min_messages", rule.min_messages},
      {"failed_statuses", rule.failed_statuses},
      {"failed", c.failed},
      {"delivered", c.delivered},
      {"total", c.total},
      {"share", d.share},
  };
  if (rule.kind == rate_threshold::pending_share_above) {
    details["pending"] = c.pending;
    details["grace"] = format_duration(rule.grace);
  }
  if (rule.kind == rate_threshold::silent) details["reports"] = c.reports;
  if (rule.kind == rate_threshold::failed_share_above || rule.kind == rate_threshold::delivered_share_below) {
    details["min_failed"] = rule.min_failed;
    details["include_policy_expiry"] = rule.include_policy_expiry;
  }
  if (rule.provider) details["filters"]["provider"] = *rule.provider;
  if (rule.sender) details["filters"]["sender"] = *rule.sender;

  store::rule_notice n;
  n.fired = d.now_firing;
  // The group's country and provider, for the sinks' fields.
  n.country = rule.group_by_country ? key.substr(0, key.find('/')) : "";
  n.provider = rule.provider.value_or("");
  if (rule.group_by_provider) n.provider = rule.group_by_country ? key.substr(key.find('/') + 1) : key;
  if (n.country == "unknown") n.country.clear();
  if (n.provider == "unknown") n.provider.clear();
  n.sender = rule.sender.value_or("");
  n.details_json = details.dump();
  return n;
}

rule_evaluator::rule_evaluator(std::vector<rate_rule> rules, std::string url)
    : rules_(std::move(rules)), store_(std::move(url)) {}

rule_evaluation rule_evaluator::evaluate_once() {
  rule_evaluation result;
  try {
    if (store_.lead()) {
      result.leader = true;
      for (const auto& rule : rules_) {
        auto t = evaluate_rule(rule);
        result.transitions.insert(result.transitions.end(), t.begin(), t.end());
      }
    }
    for (const auto& rule : rules_) result.firing[rule.name] = 0;
    for (const auto& [rule, groups] : store_.firing_counts()) {
      auto it = result.firing.find(rule);
      if (it != result.firing.end()) it->second = groups;
    }
  } catch (...) {
    // Whatever failed, start over on a new session: the lock goes with the old one.
    store_.reset();
    throw;
  }
  return result;
}

std::vector<rule_transition> rule_evaluator::evaluate_rule(const rate_rule& rule) {
  auto round = store_.begin(rule.name);
  const auto firing = round.state();
  std::vector<rule_transition> out;
  for (const auto& [key, c] : with_firing(round.count(window_of(rule)), firing)) {
    auto it = firing.find(key);
    const bool was_firing = it != firing.end() && it->second;
    const auto d = decide(rule, c, was_firing);
    round.record({key, d.now_firing, d.share, d.counted, c.total});
    if (d.now_firing == was_firing) continue;
    round.notify(notice_for(rule, key, c, d));
    out.push_back({rule.name, key, d.now_firing, c.failed, c.delivered, c.total, c.pending, c.reports, d.share});
  }
  round.commit();
  return out;
}

rule_runner::rule_runner(std::vector<rate_rule> rules, std::string url)
    : rules_(std::move(rules)), url_(std::move(url)) {}

rule_runner::~rule_runner() { stop(); }

void rule_runner::start() {
  loop_.with_lock([this] { rules_changed_ = false; });
  auto evaluator = std::make_shared<rule_evaluator>(loop_.with_lock([this] { return rules_; }), url_);
  auto was_leader = std::make_shared<bool>(false);
  loop_.start("dlrd-rules", [this, evaluator, was_leader] { return round(*evaluator, *was_leader); });
}

void rule_runner::stop() { loop_.stop(); }

void rule_runner::set_rules(std::vector<rate_rule> rules) {
  loop_.change([&] {
    rules_ = std::move(rules);
    rules_changed_ = true;
  });
}

std::uint64_t rule_runner::rounds() const {
  return loop_.with_lock([this] { return rounds_; });
}

background_loop::clock::time_point rule_runner::round(rule_evaluator& evaluator, bool& was_leader) {
  std::chrono::milliseconds interval = 1min;
  loop_.with_lock([&] {
    if (rules_changed_) {
      evaluator.set_rules(rules_);
      rules_changed_ = false;
    }
    if (!rules_.empty()) {
      interval = std::min_element(rules_.begin(), rules_.end(), [](const auto& a, const auto& b) {
                   return a.interval < b.interval;
                 })->interval;
    }
  });
  if (!evaluator.rules().empty()) {
    try {
      auto r = evaluator.evaluate_once();
      if (r.leader != was_leader) {
        spdlog::info("alert: rate rules: {} the evaluating leader", r.leader ? "became" : "is no longer");
      }
      was_leader = r.leader;
      for (const auto& t : r.transitions) {
        spdlog::warn("alert: rate rule {} {}{}{}: share {:.4f} ({} failed, {} delivered of {} final)", t.rule,
                     t.fired ? "fired" : "resolved", t.group_key.empty() ? "" : " for ", t.group_key, t.share,
                     t.failed, t.delivered, t.total);
      }
      if (on_round_) on_round_(r);
    } catch (const std::exception& e) {
      if (was_leader) spdlog::info("alert: rate rules: lost the evaluating leader lock");
      was_leader = false;
      spdlog::warn("alert: rate rule evaluation failed: {}; retrying in {}", e.what(), format_duration(interval));
    }
  }
  loop_.with_lock([this] { ++rounds_; });
  // Not leading: try the lock again soon, so a dead leader's rules are taken over in seconds.
  return background_loop::clock::now() + store::next_run_after(interval, was_leader);
}

}  // namespace dlrd::alert
