// Rate rules: config parsing, the leader-only SQL evaluator (state + notices in one
// transaction per rule) and the runner thread.
#include <dlrd/store/rules.hpp>

#include <dlrd/store/leader.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

namespace dlrd::store {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view failed_finals[] = {"undelivered", "rejected", "expired"};

/// "0.05" or "5%"; std::nullopt unless it is a number in [0, 1].
std::optional<double> parse_share(std::string_view text) {
  bool percent = !text.empty() && text.back() == '%';
  if (percent) text.remove_suffix(1);
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  if (percent) v /= 100;
  if (!(v >= 0 && v <= 1)) return std::nullopt;  // also rejects NaN
  return v;
}

void read_share(config::section& s, std::string_view key, double& out) {
  auto value = s.read_optional(key);
  if (!value || value->empty()) return;  // absent, or a non-scalar reported by read()
  const auto& text = *value;
  auto v = parse_share(text);
  if (!v) s.error(key, "expected a share between 0 and 1 (such as 0.05 or 5%), got '" + text + "'");
  else out = *v;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

const char* kind_name(rate_threshold k) {
  switch (k) {
    case rate_threshold::failed_share_above: return "failed_share_above";
    case rate_threshold::delivered_share_below: return "delivered_share_below";
    case rate_threshold::pending_share_above: return "pending_share_above";
    case rate_threshold::silent: return "silent_for";
  }
  return "failed_share_above";
}

const char* group_by_name(const rate_rule& r) {
  if (r.group_by_country && r.group_by_provider) return "country_provider";
  if (r.group_by_country) return "country";
  return r.group_by_provider ? "provider" : "none";
}

/// The SQL expression of a rule's group key over sms_logs (alias-free column names).
std::string group_key_sql(const rate_rule& r) {
  if (r.group_by_country && r.group_by_provider) {
    return "coalesce(country_code, 'unknown') || '/' || coalesce(provider, 'unknown')";
  }
  if (r.group_by_country) return "coalesce(country_code, 'unknown')";
  return r.group_by_provider ? "coalesce(provider, 'unknown')" : "''::text";
}

/// What one window query counted for one group.
struct window_counts {
  std::int64_t total = 0, failed = 0, delivered = 0, pending = 0, reports = 0;
};

/// The decision of one round for one group, a pure function of the counts and the state.
struct decision {
  double share = 0;
  bool now_firing = false;
};

decision decide(const rate_rule& rule, const window_counts& c, bool was_firing) {
  decision d;
  bool crossed = false, cleared = false;
  auto share_of = [&c](std::int64_t part) {
    return c.total > 0 ? static_cast<double>(part) / static_cast<double>(c.total) : 0.0;
  };
  switch (rule.kind) {
    case rate_threshold::failed_share_above:
    case rate_threshold::pending_share_above:
      d.share = share_of(rule.kind == rate_threshold::pending_share_above ? c.pending : c.failed);
      crossed = c.total > 0 && d.share > rule.threshold;
      // No message left in the window: nothing is failing any more.
      cleared = c.total == 0 || d.share < rule.threshold - rule.hysteresis;
      break;
    case rate_threshold::delivered_share_below:
      d.share = share_of(c.delivered);
      crossed = c.total > 0 && d.share < rule.threshold;
      cleared = c.total == 0 || d.share > rule.threshold + rule.hysteresis;
      break;
    case rate_threshold::silent:
      // The share is the reports' count: zero while silent. One report resolves it.
      d.share = static_cast<double>(c.reports);
      crossed = c.reports == 0;
      cleared = c.reports > 0;
      break;
  }
  d.now_firing = was_firing;
  if (!was_firing && crossed && c.total >= rule.min_messages) d.now_firing = true;
  if (was_firing && cleared) d.now_firing = false;
  return d;
}

/// The filters every window query of a rule applies to sms_logs.
std::string filters_sql(pqxx::transaction_base& tx, const rate_rule& rule) {
  std::string sql;
  if (rule.provider) sql += " AND provider = " + tx.quote(*rule.provider);
  if (rule.sender) sql += " AND from_number = " + tx.quote(*rule.sender);
  return sql;
}

std::string ms_ago(std::chrono::milliseconds d) {
  return "now() - " + std::to_string(d.count()) + " * interval '1 millisecond'";
}

/// One query per rule (two for silence), grouped as the rule says.
std::map<std::string, window_counts> count_window(pqxx::transaction_base& tx, const rate_rule& rule) {
  std::map<std::string, window_counts> groups;
  const std::string key = group_key_sql(rule);
  if (rule.kind == rate_threshold::pending_share_above) {
    // By send time, as idx_sms_logs_send_time reads (sql/0009).
    auto sql = "SELECT " + key + ", count(*), count(*) FILTER (WHERE dlr_status_class(status) = 0), "
               "count(*) FILTER (WHERE status = 'delivered') FROM sms_logs "
               "WHERE coalesce(sent_at, created_at) >= " + ms_ago(rule.window) +
               " AND coalesce(sent_at, created_at) < " + ms_ago(rule.grace) + filters_sql(tx, rule) + " GROUP BY 1";
    for (const auto& row : tx.exec(sql)) {
      auto& g = groups[row[0].as<std::string>()];
      g.total = row[1].as<std::int64_t>();
      g.pending = row[2].as<std::int64_t>();
      g.delivered = row[3].as<std::int64_t>();
    }
    return groups;
  }
  if (rule.kind == rate_threshold::silent) {
    // Sends the application logged (a row a report created has no sent_at) ...
    auto sends = "SELECT " + key + ", count(*) FROM sms_logs WHERE coalesce(sent_at, created_at) >= " +
                 ms_ago(rule.window) + " AND sent_at IS NOT NULL" + filters_sql(tx, rule) + " GROUP BY 1";
    for (const auto& row : tx.exec(sends)) groups[row[0].as<std::string>()].total = row[1].as<std::int64_t>();
    // ... and the reports the writers committed, from the history (what every instance
    // agrees on); dlrd's own expiry reports are not callbacks.
    std::string reports = std::string("SELECT ") + (rule.group_by_provider ? "provider" : "''::text") +
                          ", count(*) FROM dlr_events WHERE stored_at > " + ms_ago(rule.window) +
                          " AND provider <> 'dlrd'";
    if (rule.provider) reports += " AND provider = " + tx.quote(*rule.provider);
    for (const auto& row : tx.exec(reports + " GROUP BY 1")) {
      groups[row[0].as<std::string>()].reports = row[1].as<std::int64_t>();
    }
    // Sends logged without a provider cannot be matched with any provider's reports.
    if (rule.group_by_provider) groups.erase("unknown");
    if (groups.empty() && !rule.group_by_provider) groups.try_emplace("");  // no traffic at all is silence too
    return groups;
  }
  // Final reports by their time. The status predicate repeats the partial index's (sql/0007).
  std::string failed_list;
  for (const auto& st : rule.failed_statuses) {
    if (!failed_list.empty()) failed_list += ", ";
    failed_list += tx.quote(st);
  }
  auto sql = "SELECT " + key + ", count(*), count(*) FILTER (WHERE status IN (" + failed_list +
             ")), count(*) FILTER (WHERE status = 'delivered') FROM sms_logs "
             "WHERE status IN ('delivered', 'undelivered', 'rejected', 'expired') AND status_at > " +
             ms_ago(rule.window) + filters_sql(tx, rule) + " GROUP BY 1";
  for (const auto& row : tx.exec(sql)) {
    auto& g = groups[row[0].as<std::string>()];
    g.total = row[1].as<std::int64_t>();
    g.failed = row[2].as<std::int64_t>();
    g.delivered = row[3].as<std::int64_t>();
  }
  return groups;
}

/// The counted groups plus every group firing now (evaluated as empty when it has no rows).
std::map<std::string, window_counts> with_firing(std::map<std::string, window_counts> groups,
                                                 const std::map<std::string, bool>& firing) {
  for (const auto& [key, is_firing] : firing) {
    if (is_firing) groups.try_emplace(key);
  }
  return groups;
}

/// Second key of the per-rule transaction lock; the first is "dlrd" as an int4.
constexpr int rule_xact_lock_class = 0x646c7264;

}  // namespace

std::vector<rate_rule> default_rate_rules() {
  rate_rule failure;
  failure.name = "failure-rate";
  failure.kind = rate_threshold::failed_share_above;
  failure.threshold = 0.05;

  rate_rule country;
  country.name = "country-delivery";
  country.kind = rate_threshold::delivered_share_below;
  country.threshold = 0.85;
  country.group_by_country = true;
  country.min_messages = 100;

  // The seed: delivered within 10-30 s, undelivered within minutes, a phone that is off can
  // hold a message for hours. Fifteen minutes after sending a report should have come for
  // nearly every message; a market where a third still has none after that, over six hours,
  // is one whose carrier relays nothing (or a callback that stopped arriving).
  rate_rule coverage;
  coverage.name = "country-coverage";
  coverage.kind = rate_threshold::pending_share_above;
  coverage.threshold = 0.30;
  coverage.window = std::chrono::hours(6);
  coverage.grace = std::chrono::minutes(15);
  coverage.group_by_country = true;
  coverage.min_messages = 50;
  coverage.hysteresis = 0.05;
  coverage.interval = std::chrono::minutes(5);

  // A gateway that sent 20 messages in half an hour without one report coming back has lost
  // its way to the callback URL (firewall, certificate, wrong callbackUrl after a deploy).
  rate_rule silence;
  silence.name = "gateway-silence";
  silence.kind = rate_threshold::silent;
  silence.window = std::chrono::minutes(30);
  silence.group_by_provider = true;
  silence.min_messages = 20;
  return {failure, country, coverage, silence};
}

void parse(config::section& s, rate_rule& out) {
  s.read("name", out.name);
  if (out.name.empty()) s.error("name", "required: a name for the rule");
  s.read_duration("window", out.window, 1s);

  std::vector<std::string> statuses = out.failed_statuses;
  s.read_list("failed_statuses", statuses);
  bool statuses_ok = !statuses.empty();
  if (!statuses_ok) s.error("failed_statuses", "must name at least one status");
  for (const auto& st : statuses) {
    if (std::find(std::begin(failed_finals), std::end(failed_finals), st) == std::end(failed_finals)) {
      s.error("failed_statuses", "'" + st + "' is not a failed final status (undelivered, rejected, expired)");
      statuses_ok = false;
    }
  }
  if (statuses_ok) out.failed_statuses = std::move(statuses);

  const std::pair<const char*, rate_threshold> kinds[] = {
      {"failed_share_above", rate_threshold::failed_share_above},
      {"delivered_share_below", rate_threshold::delivered_share_below},
      {"pending_share_above", rate_threshold::pending_share_above},
      {"silent_for", rate_threshold::silent},
  };
  int given = 0;
  for (const auto& [key, kind] : kinds) {
    if (!s.has(key)) continue;
    if (++given > 1) {
      s.error(key, "set one of failed_share_above, delivered_share_below, pending_share_above or silent_for");
    }
    out.kind = kind;
  }
  if (given == 0) {
    s.error("failed_share_above",
            "a threshold is required: set failed_share_above, delivered_share_below, pending_share_above or silent_for");
  }
  const bool above = given == 1 && out.kind != rate_threshold::delivered_share_below;
  const bool below = given == 1 && out.kind == rate_threshold::delivered_share_below;
  read_share(s, "failed_share_above", out.threshold);
  read_share(s, "delivered_share_below", out.threshold);
  read_share(s, "pending_share_above", out.threshold);
  // A silence rule's window is the silence it waits for.
  s.read_duration("silent_for", out.window, 1s);
  s.read_duration("grace", out.grace, 0s);
  if (out.kind == rate_threshold::pending_share_above && out.grace >= out.window) {
    s.error("grace", "must be shorter than the window: messages sent between window and grace ago are counted");
  }

  // A silence rule may fire on no traffic at all (min_messages 0: "no callback for T").
  s.read("min_messages", out.min_messages, out.kind == rate_threshold::silent ? 0 : 1, 1'000'000'000'000);
  std::string group_by = group_by_name(out);
  s.read_choice("group_by", group_by, {"none", "country", "provider", "country_provider"});
  out.group_by_country = group_by == "country" || group_by == "country_provider";
  out.group_by_provider = group_by == "provider" || group_by == "country_provider";
  if (out.kind == rate_threshold::silent && out.group_by_country) {
    s.error("group_by", "a silence rule groups by provider or not at all (reports carry no country)");
  }

  if (auto f = s.child("filters")) {
    std::string provider = out.provider.value_or("");
    std::string sender = out.sender.value_or("");
    f->read("provider", provider);
    f->read("sender", sender);
    out.provider = provider.empty() ? std::nullopt : std::optional(provider);
    out.sender = sender.empty() ? std::nullopt : std::optional(sender);
    f->finish();
  }

  read_share(s, "hysteresis", out.hysteresis);
  // A hysteresis that reaches past 0 or 1 would never let a firing rule resolve.
  bool never_resolves = out.kind == rate_threshold::delivered_share_below ? out.threshold + out.hysteresis > 1
                                                                          : out.hysteresis > out.threshold;
  if (out.kind != rate_threshold::silent && above != below && never_resolves) {
    s.error("hysteresis", "too large for the threshold: the rule could never resolve");
  }
  s.read_duration("interval", out.interval, 1s);
  s.finish();
}

void parse_rules(config::section& alerts, std::vector<rate_rule>& out) {
  // Absent: the caller's rules (the defaults) stay. `rules: []` or `rules:` means none.
  bool present = alerts.has("rules");
  auto items = alerts.children("rules");
  if (!present || !items) return;  // !items: the error is recorded
  out.clear();
  std::set<std::string> names;
  for (auto& item : *items) {
    rate_rule r;
    parse(item, r);
    if (!r.name.empty() && !names.insert(r.name).second) {
      item.error("name", "duplicate rule name '" + r.name + "'");
    }
    out.push_back(std::move(r));
  }
}

std::vector<firing_group> currently_firing(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::read_transaction tx(conn);
  auto rows = tx.exec(
      "SELECT rule, group_key, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
      "coalesce(last_share, 0)::float8, coalesce(last_failed, 0), coalesce(last_total, 0) "
      "FROM dlr_rule_state WHERE firing ORDER BY rule, group_key");
  std::vector<firing_group> out;
  for (const auto& row : rows) {
    firing_group g;
    g.rule = row[0].as<std::string>();
    g.group_key = row[1].as<std::string>();
    g.since = row[2].is_null() ? "" : row[2].as<std::string>();
    g.last_share = row[3].as<double>();
    g.last_failed = row[4].as<std::int64_t>();
    g.last_total = row[5].as<std::int64_t>();
    out.push_back(std::move(g));
  }
  return out;
}

rule_evaluator::rule_evaluator(std::vector<rate_rule> rules, std::string url)
    : rules_(std::move(rules)), session_(std::make_unique<leader_session>(std::move(url), rule_leader_lock_key)) {}

rule_evaluator::~rule_evaluator() = default;  // closing the connection releases the lock

void rule_evaluator::set_rules(std::vector<rate_rule> rules) { rules_ = std::move(rules); }

bool rule_evaluator::leader() const { return session_->leader(); }

rule_evaluation rule_evaluator::evaluate_once() {
  rule_evaluation result;
  try {
    if (session_->lead()) {
      result.leader = true;
      for (const auto& rule : rules_) {
        auto t = evaluate_rule(rule);
        result.transitions.insert(result.transitions.end(), t.begin(), t.end());
      }
    }
    for (const auto& rule : rules_) result.firing[rule.name] = 0;
    pqxx::nontransaction tx(session_->connection());
    for (const auto& row : tx.exec("SELECT rule, count(*) FROM dlr_rule_state WHERE firing GROUP BY rule")) {
      auto it = result.firing.find(row[0].as<std::string>());
      if (it != result.firing.end()) it->second = row[1].as<std::int64_t>();
    }
  } catch (...) {
    // Whatever failed, start over on a new session: the lock goes with the old one.
    session_->reset();
    throw;
  }
  return result;
}

std::vector<rule_transition> rule_evaluator::evaluate_rule(const rate_rule& rule) {
  pqxx::work tx(session_->connection());
  // Serializes evaluations of this rule even if two sessions both believed they lead.
  tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", rule_xact_lock_class, rule.name);

  std::map<std::string, bool> firing;
  for (const auto& row : tx.exec_params("SELECT group_key, firing FROM dlr_rule_state WHERE rule = $1", rule.name)) {
    firing[row[0].as<std::string>()] = row[1].as<bool>();
  }

  const auto groups = count_window(tx, rule);
  std::vector<rule_transition> out;
  for (const auto& [key, c] : with_firing(groups, firing)) {
    auto it = firing.find(key);
    bool was_firing = it != firing.end() && it->second;
    const auto [share, now_firing] = decide(rule, c, was_firing);
    const auto counted = rule.kind == rate_threshold::pending_share_above ? c.pending
                         : rule.kind == rate_threshold::silent             ? c.reports
                                                                           : c.failed;

    tx.exec_params(
        "INSERT INTO dlr_rule_state AS s (rule, group_key, firing, since, last_share, last_failed, last_total, "
        "last_evaluated_at) VALUES ($1, $2, $3::boolean, CASE WHEN $3::boolean THEN now() END, "
        "CASE WHEN $6::bigint > 0 THEN $4::float8::numeric END, $5::bigint, $6::bigint, now()) "
        "ON CONFLICT (rule, group_key) DO UPDATE SET firing = excluded.firing, "
        "since = CASE WHEN NOT excluded.firing THEN NULL WHEN s.firing THEN s.since ELSE now() END, "
        "last_share = excluded.last_share, last_failed = excluded.last_failed, last_total = excluded.last_total, "
        "last_evaluated_at = excluded.last_evaluated_at",
        rule.name, key, now_firing, share, counted, c.total);

    if (now_firing == was_firing) continue;
    rule_transition t{rule.name, key, now_firing, c.failed, c.delivered, c.total, c.pending, c.reports, share};
    nlohmann::json details = {
        {"rule", rule.name},
        {"group_by", group_by_name(rule)},
        {"group_key", key},
        {"window", format_duration(rule.window)},
        {"window_seconds", rule.window.count() / 1000},
        {"threshold_kind", kind_name(rule.kind)},
        {"threshold", rule.threshold},
        {"hysteresis", rule.hysteresis},
        {"min_messages", rule.min_messages},
        {"failed_statuses", rule.failed_statuses},
        {"failed", c.failed},
        {"delivered", c.delivered},
        {"total", c.total},
        {"share", share},
    };
    if (rule.kind == rate_threshold::pending_share_above) {
      details["pending"] = c.pending;
      details["grace"] = format_duration(rule.grace);
    }
    if (rule.kind == rate_threshold::silent) details["reports"] = c.reports;
    if (rule.provider) details["filters"]["provider"] = *rule.provider;
    if (rule.sender) details["filters"]["sender"] = *rule.sender;
    // The group's country and provider, for the sinks' fields.
    std::string country = rule.group_by_country ? key.substr(0, key.find('/')) : "";
    std::string provider = rule.provider.value_or("");
    if (rule.group_by_provider) provider = rule.group_by_country ? key.substr(key.find('/') + 1) : key;
    if (country == "unknown") country.clear();
    if (provider == "unknown") provider.clear();
    tx.exec_params(
        "INSERT INTO dlr_alert_outbox (kind, country, provider, sender, status_at, details) "
        "VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), now(), $5::jsonb)",
        now_firing ? "rate_rule_fired" : "rate_rule_resolved", country, provider, rule.sender.value_or(""),
        details.dump());
    out.push_back(std::move(t));
  }
  tx.commit();
  return out;
}

rule_runner::rule_runner(std::vector<rate_rule> rules, std::string url)
    : rules_(std::move(rules)), url_(std::move(url)) {}

rule_runner::~rule_runner() { stop(); }

void rule_runner::start() {
  loop_.with_lock([this] { rules_changed_ = false; });
  auto evaluator = std::make_shared<rule_evaluator>(loop_.with_lock([this] { return rules_; }), url_);
  auto was_leader = std::make_shared<bool>(false);
  loop_.start([this, evaluator, was_leader] { return round(*evaluator, *was_leader); });
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
  return background_loop::clock::now() + interval;
}

}  // namespace dlrd::store
