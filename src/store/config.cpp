// Parses the `database` and `store` config sections; the caller reports unknown keys (finish()).
#include <dlrd/store/config.hpp>

#include <algorithm>

namespace dlrd::store {

void parse(config::section& s, database_config& out) {
  s.read_secret("url", out.url);
  s.read_duration("connect_timeout", out.connect_timeout, std::chrono::milliseconds{1});
  s.read("migrate_on_start", out.migrate_on_start);
}

void parse(config::section& s, store_config& out) {
  s.read("workers", out.workers, 1, 64);
  s.read("batch_max", out.batch_max, std::size_t{1}, std::size_t{100000});
  s.read_duration("batch_linger", out.batch_linger);
  s.read_duration("retry_backoff_max", out.retry_backoff_max, std::chrono::milliseconds{1});
  s.read("history", out.history);
  s.read("synchronous_commit", out.synchronous_commit);
}

std::string connection_string(const database_config& db) {
  const auto& url = db.url;
  if (url.find("connect_timeout") != std::string::npos) return url;
  // libpq takes whole seconds; round up so a short timeout never becomes "wait forever" (0).
  auto seconds = std::max<long long>(1, (db.connect_timeout.count() + 999) / 1000);
  auto value = std::to_string(seconds);
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + value;
  }
  return url + " connect_timeout=" + value;
}

}  // namespace dlrd::store
