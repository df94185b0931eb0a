// Parses the `status_api`, `expiry` and `retention` sections.
#include <dlrd/status/config.hpp>

#include <set>

namespace dlrd::status {

namespace {

using namespace std::chrono_literals;

/// A duration that may be switched off with `null` (or `off`).
void read_optional_duration(config::section& s, std::string_view key, std::optional<std::chrono::milliseconds>& out) {
  auto value = s.read_optional(key);
  if (!value) return;
  const auto& text = *value;
  if (text.empty() || text == "off" || text == "null") {
    out.reset();
    return;
  }
  auto d = config::parse_duration(text);
  if (!d || d->count() == 0) {
    s.error(key, "expected a duration such as 90d or 12h, or null to keep rows forever, got '" + text + "'");
    return;
  }
  out = *d;
}

void read_optional_text(config::section& s, std::string_view key, std::optional<std::string>& out) {
  std::string v = out.value_or("");
  s.read(key, v);
  out = v.empty() ? std::nullopt : std::optional(v);
}

void parse(config::section& s, expiry_rule& out) {
  s.read("name", out.name);
  if (out.name.empty()) s.error("name", "required: a name for the rule (it goes into the raw status)");
  if (out.name.find_first_of(" \t\r\n") != std::string::npos) s.error("name", "must not contain white space");
  if (auto m = s.child("match")) {
    read_optional_text(*m, "tag", out.tag);
    read_optional_text(*m, "sender", out.sender);
    read_optional_text(*m, "recipient_prefix", out.recipient_prefix);
    read_optional_text(*m, "provider", out.provider);
    m->finish();
  }
  if (!s.has("after")) s.error("after", "required: how long after the send a pending message counts as expired");
  s.read_duration("after", out.after, 1s);
  s.read("notify", out.notify);
  s.finish();
}

}  // namespace

void parse(config::section& s, status_api_config& out) {
  s.read("enabled", out.enabled);
  s.read_duration("max_wait", out.max_wait);
  s.read("max_waiters", out.max_waiters, 1, 1'000'000);
  s.read("max_batch", out.max_batch, 1, 10'000);
  s.read("connections", out.connections, 1, 64);
  s.read("max_queue", out.max_queue, 1, 1'000'000);
  s.read("history_limit", out.history_limit, 0, 10'000);
}

void parse(config::section& s, expiry_config& out) {
  s.read_duration("interval", out.interval, 1s);
  s.read("batch", out.batch, 1, 1'000'000);
  bool present = s.has("rules");
  auto items = s.children("rules");
  if (!present || !items) return;
  out.rules.clear();
  std::set<std::string> names;
  for (auto& item : *items) {
    expiry_rule r;
    parse(item, r);
    if (!r.name.empty() && !names.insert(r.name).second) item.error("name", "duplicate rule name '" + r.name + "'");
    out.rules.push_back(std::move(r));
  }
}

void parse(config::section& s, retention_config& out) {
  read_optional_duration(s, "events_after", out.events_after);
  read_optional_duration(s, "sms_logs_after", out.sms_logs_after);
  read_optional_duration(s, "notices_after", out.notices_after);
  s.read_duration("interval", out.interval, 1s);
  s.read("batch", out.batch, 1, 1'000'000);
}

}  // namespace dlrd::status
