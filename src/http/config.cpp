// Parses the `listen` section.
#include <dlrd/http/config.hpp>

#include <fstream>

namespace dlrd::http {

namespace {

void read_tls(config::section& s, tls_config& out) {
  for (auto [key, value] : {std::pair{"cert_file", &out.cert_file}, std::pair{"key_file", &out.key_file}}) {
    s.read(key, *value);
    if (value->empty()) {
      s.error(key, "is required with listen.tls");
    } else if (!std::ifstream(*value)) {
      s.error(key, "cannot read '" + *value + "'");
    }
  }
}

}  // namespace

void parse(config::section& s, listen_config& out) {
  s.read("address", out.address);
  s.read("port", out.port, 0, 65535);
  s.read("threads", out.threads, 1, 64);
  s.read("max_connections", out.max_connections, 1, 1'000'000);
  s.read("max_connections_per_ip", out.max_connections_per_ip, 0, 1'000'000);
  s.read_size("header_limit", out.header_limit, 1024);
  if (out.header_limit > 1024 * 1024) s.error("header_limit", "must be at most 1MiB");
  s.read("max_header_count", out.max_header_count, 1, 10'000);
  s.read("max_target_length", out.max_target_length, 16, 1024 * 1024);
  s.read_size("body_limit", out.body_limit, 1024);
  s.read_duration("read_timeout", out.read_timeout, std::chrono::milliseconds{100});
  s.read_duration("body_timeout", out.body_timeout, std::chrono::milliseconds{100});
  s.read_duration("idle_timeout", out.idle_timeout, std::chrono::milliseconds{100});
  s.read_duration("write_timeout", out.write_timeout, std::chrono::milliseconds{100});
  s.read("retry_after_seconds", out.retry_after_seconds, 1, 3600);
  if (auto t = s.child("tls")) {
    tls_config files = out.tls.value_or(tls_config{});
    read_tls(*t, files);
    t->finish();
    out.tls = std::move(files);
  }
}

}  // namespace dlrd::http
