// Parses the `listen` section.
#include <dlrd/http/config.hpp>

namespace dlrd::http {

void parse(config::section& s, listen_config& out) {
  s.read("address", out.address);
  s.read("port", out.port, 0, 65535);
  s.read("threads", out.threads, 1, 64);
  s.read("max_connections", out.max_connections, 1, 1'000'000);
  s.read_size("header_limit", out.header_limit, 1024);
  s.read_size("body_limit", out.body_limit, 1024);
  s.read_duration("read_timeout", out.read_timeout, std::chrono::milliseconds{100});
  s.read_duration("idle_timeout", out.idle_timeout, std::chrono::milliseconds{100});
  s.read_duration("write_timeout", out.write_timeout, std::chrono::milliseconds{100});
  s.read("retry_after_seconds", out.retry_after_seconds, 1, 3600);
}

}  // namespace dlrd::http
