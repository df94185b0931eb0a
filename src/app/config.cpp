// The root loader: stitches the module sections together; each module parses its own.
#include <dlrd/app/config.hpp>

#include <dlrd/status/jobs.hpp>

#include <libpq-fe.h>

#include <arpa/inet.h>

#include <algorithm>
#include <memory>
#include <utility>

namespace dlrd::app {

namespace {

void parse(config::section& s, log_config& out) {
  s.read_choice("level", out.level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  s.read_choice("format", out.format, {"text", "json"});
}

void parse(config::section& s, shutdown_config& out) {
  s.read_duration("grace", out.grace);
  s.read_duration("drain_timeout", out.drain_timeout);
}

void parse(config::section& s, exposure_config& out) {
  for (auto [key, reason] : {std::pair{"webhooks", &out.webhooks}, std::pair{"api", &out.api}}) {
    s.read(key, *reason);
    if (*reason == "false" || *reason == "no" || *reason == "off") reason->clear();
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

/// database.url: empty, or what libpq itself would refuse at connect time, is an error now.
void check_database_url(config::section& root, const store::database_config& db) {
  auto s = root.child("database");
  auto report = [&](const std::string& message) {
    if (s) s->error("url", message);
    else root.error("database", message);
  };
  if (db.url.empty()) {
    report("is empty: set a libpq connection string such as postgresql://dlrd@localhost/dlrd (or "
           "host=... dbname=...), e.g. through DLRD_DATABASE_URL in /etc/default/dlrd");
    return;
  }
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(PQconninfoParse(db.url.c_str(), &error),
                                                                         &PQconninfoFree);
  if (!options) {
    std::string why = error ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    report("is not a connection string libpq accepts: " + why);
  }
}

/// Notice retention must outlast alerts.max_age: a notice a sink has not claimed yet is
/// deleted only once a claim would drop it as stale anyway.
void check_notice_retention(config::section& root, const daemon_config& c) {
  if (!c.retention.notices_after || c.alerts.max_age < *c.retention.notices_after) return;
  auto message = "must be longer than alerts.max_age (" + std::to_string(c.alerts.max_age.count() / 1000) +
                 " s): a notice a sink has not sent yet would be deleted";
  if (auto r = root.child("retention")) r->error("notices_after", message);
  else root.error("retention", "notices_after (default 30d) " + message);
}

/// A non-loopback listener with open routes is refused unless allow_unauthenticated says why.
void check_exposure(config::section& root, const daemon_config& c) {
  if (is_loopback(c.listen.address)) return;
  auto open = unauthenticated_routes(c);
  auto listen = root.child("listen");
  auto report = [&](const std::string& message) {
    if (listen) listen->error("address", message);
    else root.error("listen", message);
  };
  const std::string where = "'" + c.listen.address + "' is not a loopback address, and ";
  if (!open.webhooks.empty() && c.allow_unauthenticated.webhooks.empty()) {
    report(where + "these webhooks take reports from anyone who can reach them: " + joined(open.webhooks) +
           ". Give each an auth: (webhooks: [{profile: NAME, auth: {token: [\"${DLRD_WEBHOOK_TOKEN}\"]}}]), "
           "or listen on 127.0.0.1 behind a reverse proxy that authenticates, or accept it with "
           "allow_unauthenticated: {webhooks: \"<why this is safe>\"}");
  }
  if (!open.api.empty() && c.allow_unauthenticated.api.empty()) {
    report(where + "the API has no api.auth, so anyone who can reach it reads recipients' numbers and "
           "delivery states (and may log sends): " + joined(open.api) +
           ". Set api.auth (e.g. api: {auth: {bearer: [\"${DLRD_API_TOKEN}\"]}}), or listen on 127.0.0.1 "
           "behind a reverse proxy, or accept it with allow_unauthenticated: {api: \"<why this is safe>\"}");
  }
}

template <typename T>
void section_into(config::section& root, std::string_view key, T& out) {
  if (auto s = root.child(key)) {
    parse(*s, out);
    s->finish();
  }
}

}  // namespace

bool is_loopback(std::string_view address) {
  if (address == "localhost") return true;
  const std::string a(address);
  unsigned char v4[4];
  if (inet_pton(AF_INET, a.c_str(), v4) == 1) return v4[0] == 127;
  unsigned char v6[16];
  if (inet_pton(AF_INET6, a.c_str(), v6) != 1) return false;
  static constexpr unsigned char loopback6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(v6, v6 + 16, loopback6)) return true;
  return std::equal(v6, v6 + 12, mapped_prefix) && v6[12] == 127;
}

open_routes unauthenticated_routes(const daemon_config& c) {
  open_routes out;
  for (const auto& w : c.webhooks) {
    if (w.auth.empty()) out.webhooks.push_back(w.path);
  }
  if (c.api_auth.empty()) {
    if (c.status_api.enabled) out.api.emplace_back("/v1/messages");
    out.api.emplace_back("/v1/stats/");
    out.api.emplace_back("/dashboard");
  }
  return out;
}

std::vector<std::string> exposure_warnings(const daemon_config& c) {
  std::vector<std::string> out;
  if (is_loopback(c.listen.address)) return out;
  auto open = unauthenticated_routes(c);
  const std::string where = "listening on " + c.listen.address + " (not loopback) ";
  if (!open.webhooks.empty()) {
    out.push_back(where + "with unauthenticated webhooks " + joined(open.webhooks) +
                  ", as allow_unauthenticated.webhooks allows: " + c.allow_unauthenticated.webhooks);
  }
  if (!open.api.empty()) {
    out.push_back(where + "with an unauthenticated API " + joined(open.api) +
                  ", as allow_unauthenticated.api allows: " + c.allow_unauthenticated.api);
  }
  return out;
}

daemon_config load_config(const std::string& file) {
  daemon_config c;
  config::load_file(file, [&c](config::section& root) {
    section_into(root, "listen", c.listen);
    if (auto m = root.child("metrics_listen")) {
      http::listen_config l;
      l.port = 9108;
      l.threads = 1;
      l.max_connections = 64;
      http::parse(*m, l);
      m->finish();
      c.metrics_listen = l;
    }
    section_into(root, "database", c.database);
    section_into(root, "store", c.store);
    section_into(root, "spool", c.spool);
    section_into(root, "decode", c.decode);
    if (auto p = root.child("profiles")) {
      decode::parse_profiles(*p, c.profiles);
      p->finish();
    }
    http::parse_webhooks(root, c.profiles, c.webhooks);
    if (auto api = root.child("api")) {
      if (auto a = api->child("auth")) {
        auth::parse(*a, c.api_auth);
        a->finish();
      }
      api->finish();
    }
    section_into(root, "status_api", c.status_api);
    section_into(root, "expiry", c.expiry);
    section_into(root, "retention", c.retention);
    section_into(root, "log", c.log);
    section_into(root, "shutdown", c.shutdown);
    if (auto a = root.child("alerts")) {
      parse(*a, c.alerts);
      alert::parse_rules(*a, c.rules);
      a->finish();
    }
    section_into(root, "allow_unauthenticated", c.allow_unauthenticated);
    check_database_url(root, c.database);
    check_exposure(root, c);
    check_notice_retention(root, c);
  });
  // The writer notices exactly the statuses the alerts count as failed.
  c.store.notice_statuses = c.alerts.failed_statuses;
  // ... and writes no policy-expiry notice for the expiry rules that say `notify: false`.
  for (const auto& rule : c.expiry.rules) {
    if (!rule.notify) c.store.quiet_expiries.push_back(std::string(status::expiry_raw_prefix) + rule.name);
  }
  return c;
}

}  // namespace dlrd::app
