// The root loader: stitches the module sections together; each module parses its own.
#include <dlrd/app/config.hpp>

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

template <typename T>
void section_into(config::section& root, std::string_view key, T& out) {
  if (auto s = root.child(key)) {
    parse(*s, out);
    s->finish();
  }
}

}  // namespace

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
      store::parse_rules(*a, c.rules);
      a->finish();
    }
  });
  // The writer notices exactly the statuses the alerts count as failed.
  c.store.notice_statuses = c.alerts.failed_statuses;
  return c;
}

}  // namespace dlrd::app
