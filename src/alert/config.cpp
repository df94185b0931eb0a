// Parses and validates the `alerts` config section; the caller reports unknown top-level keys.
#include <dlrd/alert/config.hpp>

#include <dlrd/net/url.hpp>
#include <dlrd/text/ascii.hpp>

#include <algorithm>
#include <set>

namespace dlrd::alert {

namespace {

bool has_line_break(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool valid_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return text::is_alnum(c) || c == '-' || c == '_' || c == '.';
  });
}

void parse_sink(config::section& s, sink_config& out) {
  s.read("name", out.name);
  s.read_choice("type", out.type, {"log", "webhook", "slack"});
  s.read("url", out.url);
  s.read_map("headers", out.headers);
  s.read_secret("bearer_token", out.bearer_token);
  s.read("allow_private", out.allow_private);
  s.read("max_per_minute", out.max_per_minute, 1, 1'000'000);
  s.read_duration("connect_timeout", out.connect_timeout, std::chrono::milliseconds{1});
  s.read_duration("timeout", out.timeout, std::chrono::milliseconds{1});

  if (!s.has("name")) s.error("name", "required");
  else if (!valid_name(out.name)) s.error("name", "use 1-64 letters, digits, '-', '_' or '.'");
  if (!s.has("type")) {
    s.error("type", "required: log, webhook or slack");
    return;
  }
  bool http = out.type == "webhook" || out.type == "slack";
  if (http) {
    std::string why;
    if (out.url.empty()) s.error("url", "required for a " + out.type + " sink");
    else if (!net::parse_url(out.url, why)) s.error("url", why);
    if (out.connect_timeout > out.timeout) s.error("connect_timeout", "must not exceed timeout");
  } else {
    for (const char* key : {"url", "headers", "bearer_token", "bearer_token_file", "allow_private"}) {
      if (s.has(key)) s.error(key, "only for webhook and slack sinks");
    }
  }
  if (out.type == "slack" && (s.has("bearer_token") || s.has("bearer_token_file"))) {
    s.error("bearer_token", "Slack incoming webhooks carry their secret in the URL; not for slack sinks");
  }
  for (const auto& [name, value] : out.headers) {
    bool token_char = std::all_of(name.begin(), name.end(), [](char c) {
      return text::is_alnum(c) || c == '-' || c == '_';
    });
    if (name.empty() || !token_char) s.error("headers", "bad header name '" + name + "'");
    else if (has_line_break(value)) s.error("headers", "the value of " + name + " contains a line break");
    else if (!out.bearer_token.empty() && (name == "Authorization" || name == "authorization")) {
      s.error("headers", "set either headers.Authorization or bearer_token, not both");
    }
  }
  if (has_line_break(out.bearer_token)) s.error("bearer_token", "contains a line break");
}

}  // namespace

void parse(config::section& s, alert_config& out) {
  s.read_list("failed_statuses", out.failed_statuses);
  for (const auto& st : out.failed_statuses) {
    if (st != "undelivered" && st != "rejected" && st != "expired") {
      s.error("failed_statuses", "must list only undelivered, rejected and expired, got '" + st + "'");
    }
  }
  s.read_duration("max_age", out.max_age, std::chrono::milliseconds{1'000});
  s.read_duration("poll_interval", out.poll_interval, std::chrono::milliseconds{10});
  s.read("batch", out.batch, std::size_t{1}, std::size_t{10'000});
  if (auto r = s.child("retry")) {
    r->read_duration("initial", out.retry.initial, std::chrono::milliseconds{1});
    r->read_duration("max", out.retry.max, std::chrono::milliseconds{1});
    if (out.retry.max < out.retry.initial) r->error("max", "must be at least retry.initial");
    r->finish();
  }
  if (s.has("sinks")) {
    if (auto sinks = s.children("sinks")) {
      out.sinks.clear();
      std::set<std::string> names;
      for (auto& item : *sinks) {
        sink_config c;
        parse_sink(item, c);
        if (!c.name.empty() && !names.insert(c.name).second) item.error("name", "duplicate sink name '" + c.name + "'");
        item.finish();
        out.sinks.push_back(std::move(c));
      }
    }
  } else {
    s.children("sinks");  // marks the key as read
  }
}

}  // namespace dlrd::alert
