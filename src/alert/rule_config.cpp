// Rate rules' config: the defaults, `alerts.rules` parsing and its checks.
#include <dlrd/alert/rules.hpp>

#include <algorithm>
#include <charconv>
#include <set>

namespace dlrd::alert {

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

}  // namespace

const char* group_by_name(const rate_rule& r) {
  if (r.group_by_country && r.group_by_provider) return "country_provider";
  if (r.group_by_country) return "country";
  return r.group_by_provider ? "provider" : "none";
}

const char* threshold_key(rate_threshold k) {
  switch (k) {
    case rate_threshold::failed_share_above: return "failed_share_above";
    case rate_threshold::delivered_share_below: return "delivered_share_below";
    case rate_threshold::pending_share_above: return "pending_share_above";
    case rate_threshold::silent: return "silent_for";
  }
  return "failed_share_above";
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

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

  int given = 0;
  for (auto kind : {rate_threshold::failed_share_above, rate_threshold::delivered_share_below,
                    rate_threshold::pending_share_above, rate_threshold::silent}) {
    const char* key = threshold_key(kind);
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
  const bool failure_rate = given == 1 && (out.kind == rate_threshold::failed_share_above ||
                                           out.kind == rate_threshold::delivered_share_below);
  for (const char* key : {"min_failed", "include_policy_expiry"}) {
    if (s.has(key) && !failure_rate) {
      s.error(key, "applies to failed_share_above and delivered_share_below rules (those that count failures)");
    }
  }
  s.read("min_failed", out.min_failed, 0, 1'000'000'000'000);
  s.read("include_policy_expiry", out.include_policy_expiry);
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

}  // namespace dlrd::alert
