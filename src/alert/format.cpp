// Notice and digest formats for the sinks, Slack escaping, and the retry backoff schedule.
#include <dlrd/alert/format.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>

namespace dlrd::alert {

namespace {

using json = nlohmann::json;

json or_null(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json or_null(const std::string& v) { return v.empty() ? json(nullptr) : json(v); }

std::vector<std::pair<std::string, std::size_t>> ranked(const std::map<std::string, std::size_t>& counts,
                                                        std::size_t top) {
  std::vector<std::pair<std::string, std::size_t>> out(counts.begin(), counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (out.size() > top) out.resize(top);
  return out;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

/// A digest's entry for quarantined callbacks: they are no failed messages.
constexpr std::string_view quarantined_entry = "quarantined";

/// What a notice counts as in a digest.
std::string digest_entry(const store::notice& n) {
  if (is_quarantine_notice(n)) return std::string(quarantined_entry);
  if (is_policy_expiry_notice(n)) return "expired_by_policy";
  return n.status.empty() ? "unknown" : n.status;
}

}  // namespace

digest make_digest(std::span<const store::notice> notices) {
  digest d;
  std::map<std::string, std::size_t> statuses;
  std::map<std::string, std::size_t> countries;
  for (const auto& n : notices) {
    ++d.count;
    ++statuses[digest_entry(n)];
    if (n.country && !n.country->empty()) ++countries[*n.country];
    if (d.first_noticed_at.empty() || n.noticed_at < d.first_noticed_at) d.first_noticed_at = n.noticed_at;
    if (n.noticed_at > d.last_noticed_at) d.last_noticed_at = n.noticed_at;
    d.notice_ids.push_back(n.id);
  }
  d.by_status = ranked(statuses, statuses.size());
  d.top_countries = ranked(countries, 5);
  return d;
}

std::string digest_text(const digest& d) {
  // A digest holding a quarantined callback says "notices": not every entry is a failure.
  const bool only_failures = std::none_of(d.by_status.begin(), d.by_status.end(),
                                          [](const auto& entry) { return entry.first == quarantined_entry; });
  std::string s = std::to_string(d.count) + (only_failures ? (d.count == 1 ? " more failure: " : " more failures: ")
                                                           : (d.count == 1 ? " more notice: " : " more notices: "));
  bool first = true;
  for (const auto& [status, n] : d.by_status) {
    if (!first) s += ", ";
    s += std::to_string(n) + " " + status;
    first = false;
  }
  if (!d.top_countries.empty()) {
    s += "; top countries: ";
    first = true;
    for (const auto& [country, n] : d.top_countries) {
      if (!first) s += ", ";
      s += country + " " + std::to_string(n);
      first = false;
    }
  }
  return s;
}

bool is_rule_notice(const store::notice& n) { return n.kind.rfind("rate_rule_", 0) == 0; }

namespace {

json details_of(const store::notice& n) {
  auto j = json::parse(n.details, nullptr, false);
  return j.is_object() ? j : json::object();
}

std::string percent(const json& share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", (share.is_number() ? share.get<double>() : 0.0) * 100);
  return buf;
}

}  // namespace

std::string rule_text(const store::notice& n) {
  auto d = details_of(n);
  auto str = [&d](const char* key) { return d.contains(key) && d[key].is_string() ? d[key].get<std::string>() : ""; };
  auto num = [&d](const char* key) { return d.contains(key) && d[key].is_number() ? d[key].dump() : "?"; };
  const bool delivered_rule = str("threshold_kind") == "delivered_share_below";
  std::string text = "Rate rule " + str("rule") + (n.kind == "rate_rule_fired" ? " fired" : " resolved");
  if (!str("group_key").empty()) text += " for " + str("group_key");
  if (str("threshold_kind") == "pending_share_above") {
    text += ": " + percent(d.value("share", json())) + " still without a final report (" + num("pending") + " of " +
            num("total") + " messages sent " + str("window") + " to " + str("grace") + " ago; fires above " +
            percent(d.value("threshold", json())) + ")";
    return text;
  }
  if (str("threshold_kind") == "silent_for") {
    text += n.kind == "rate_rule_fired"
                ? ": no report accepted in " + str("window") + " while " + num("total") + " message(s) were sent"
                : ": reports arrive again (" + num("reports") + " in the last " + str("window") + ")";
    return text;
  }
  text += ": " + percent(d.value("share", json())) + (delivered_rule ? " delivered (" : " failed (");
  text += num(delivered_rule ? "delivered" : "failed") + " of " + num("total") + " final messages in " + str("window");
  text += delivered_rule ? "; fires below " : "; fires above ";
  text += percent(d.value("threshold", json())) + ")";
  if (!n.provider.empty()) text += ", provider " + n.provider;
  if (n.sender) text += ", sender " + *n.sender;
  return text;
}

bool is_quarantine_notice(const store::notice& n) { return n.kind == "payload_quarantined"; }

bool is_policy_expiry_notice(const store::notice& n) { return n.kind == "message_expired_by_policy"; }

namespace {

std::string policy_rule(const store::notice& n) {
  auto d = details_of(n);
  return d.contains("rule") && d["rule"].is_string() ? d["rule"].get<std::string>() : "?";
}

}  // namespace

std::string policy_expiry_text(const store::notice& n) {
  // Not "failed": the application gave up waiting; the carrier has not said the message failed.
  std::string text = "SMS " + n.message_id + " expired by dlrd's expiry rule " + policy_rule(n) +
                     ": no final report from the carrier yet (it may still deliver)";
  if (n.recipient) text += ", to " + *n.recipient;
  if (n.country) text += " [" + *n.country + "]";
  if (!n.provider.empty()) text += ", via " + n.provider;
  if (!n.status_at.empty()) text += ", at " + n.status_at;
  return text;
}

std::string quarantine_text(const store::notice& n) {
  auto d = details_of(n);
  std::string text = "Callback for profile " + (n.provider.empty() ? std::string("?") : n.provider) + " quarantined: ";
  text += d.contains("reason") && d["reason"].is_string() ? d["reason"].get<std::string>() : "no reason recorded";
  if (d.contains("field") && d["field"].is_string() && !d["field"].get<std::string>().empty()) {
    text += " [" + d["field"].get<std::string>() + "]";
  }
  if (d.contains("quarantine_id") && d["quarantine_id"].is_number()) {
    text += " (dlrd quarantine list --id " + d["quarantine_id"].dump() + ")";
  }
  return text;
}

namespace {

/// The one-line text of a notice that is not about one message; "" for a message failure.
std::string event_text(const store::notice& n) {
  if (is_rule_notice(n)) return rule_text(n);
  if (is_quarantine_notice(n)) return quarantine_text(n);
  return "";
}

}  // namespace

std::string webhook_json(const store::notice& n) {
  if (is_policy_expiry_notice(n)) {
    json j = {{"type", n.kind},
              {"notice_id", n.id},
              {"message_id", n.message_id},
              {"status", n.status},
              {"expired_by", "policy"},
              {"rule", policy_rule(n)},
              {"raw_status", or_null(n.raw_status)},
              {"recipient", or_null(n.recipient)},
              {"country", or_null(n.country)},
              {"provider", or_null(n.provider)},
              {"status_at", or_null(n.status_at)},
              {"noticed_at", n.noticed_at},
              {"text", policy_expiry_text(n)}};
    return dump(j);
  }
  if (is_rule_notice(n) || is_quarantine_notice(n)) {
    auto j = details_of(n);
    j["type"] = n.kind;
    j["notice_id"] = n.id;
    if (is_quarantine_notice(n)) {
      j["provider"] = or_null(n.provider);
      j["received_at"] = or_null(n.status_at);
    }
    j["noticed_at"] = n.noticed_at;
    j["text"] = event_text(n);
    return dump(j);
  }
  json j = {{"type", "message_failed"},
            {"notice_id", n.id},
            {"message_id", n.message_id},
            {"status", n.status},
            {"raw_status", or_null(n.raw_status)},
            {"error_code", or_null(n.error_code)},
            {"recipient", or_null(n.recipient)},
            {"country", or_null(n.country)},
            {"provider", or_null(n.provider)},
            {"status_at", or_null(n.status_at)},
            {"noticed_at", n.noticed_at}};
  return dump(j);
}

std::string webhook_json(const digest& d) {
  json by_status = json::object();
  for (const auto& [status, n] : d.by_status) by_status[status] = n;
  json countries = json::array();
  for (const auto& [country, n] : d.top_countries) countries.push_back({{"country", country}, {"count", n}});
  json j = {{"type", "digest"},
            {"count", d.count},
            {"by_status", by_status},
            {"top_countries", countries},
            {"first_noticed_at", d.first_noticed_at},
            {"last_noticed_at", d.last_noticed_at},
            {"text", digest_text(d)}};
  return dump(j);
}

std::string slack_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string slack_json(const store::notice& n) {
  if (auto text = event_text(n); !text.empty()) return dump(json{{"text", slack_escape(text)}});
  if (is_policy_expiry_notice(n)) return dump(json{{"text", slack_escape(policy_expiry_text(n))}});
  std::string text = "SMS " + slack_escape(n.message_id) + " failed: " + slack_escape(n.status);
  if (!n.raw_status.empty()) text += " (" + slack_escape(n.raw_status) + ")";
  if (n.error_code) text += ", error " + slack_escape(*n.error_code);
  if (n.recipient) text += ", to " + slack_escape(*n.recipient);
  if (n.country) text += " [" + slack_escape(*n.country) + "]";
  if (!n.provider.empty()) text += ", via " + slack_escape(n.provider);
  if (!n.status_at.empty()) text += ", at " + slack_escape(n.status_at);
  return dump(json{{"text", text}});
}

std::string slack_json(const digest& d) { return dump(json{{"text", slack_escape(digest_text(d))}}); }

std::string log_fields(const store::notice& n) {
  std::string s;
  auto field = [&](std::string_view key, const json& value) {
    if (!s.empty()) s += ' ';
    s += key;
    s += '=';
    s += value.is_null() ? std::string("-") : dump(value);
  };
  field("notice_id", n.id);
  if (auto text = event_text(n); !text.empty()) {
    field("kind", n.kind);
    field("text", text);
    return s;
  }
  if (is_policy_expiry_notice(n)) {
    field("kind", n.kind);
    field("rule", policy_rule(n));
  }
  field("message_id", n.message_id);
  field("status", n.status);
  field("raw_status", or_null(n.raw_status));
  field("error_code", or_null(n.error_code));
  field("recipient", or_null(n.recipient));
  field("country", or_null(n.country));
  field("provider", or_null(n.provider));
  field("status_at", or_null(n.status_at));
  return s;
}

std::chrono::milliseconds backoff(const retry_config& retry, int attempts, std::mt19937_64& rng) {
  auto base = retry.initial;
  for (int i = 1; i < attempts && base < retry.max; ++i) base *= 2;
  base = std::min(base, retry.max);
  std::uniform_int_distribution<std::int64_t> jitter(base.count() / 2, base.count());
  return std::chrono::milliseconds{jitter(rng)};
}

}  // namespace dlrd::alert
