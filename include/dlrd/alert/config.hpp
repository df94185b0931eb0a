// The `alerts` config section: which statuses notify, how long a notice stays worth sending,
// retry backoff, and the sinks (log, webhook, slack) notices go to.
#pragma once

#include <dlrd/config/yaml.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace dlrd::alert {

struct retry_config {
  std::chrono::milliseconds initial{5'000};   ///< delay after the first failed attempt
  std::chrono::milliseconds max{600'000};     ///< cap of the exponential backoff

  bool operator==(const retry_config&) const = default;
};

struct sink_config {
  std::string name;                           ///< unique; keys the per-sink delivery state
  std::string type;                           ///< log | webhook | slack
  std::string url;                            ///< http(s); webhook and slack only
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra request headers (webhook, slack)
  std::string bearer_token;                   ///< sent as "Authorization: Bearer ..." (webhook); a secret
  bool allow_private = false;                 ///< allow loopback/private/link-local targets (SSRF guard off)
  int max_per_minute = 60;                    ///< past this, notices are folded into one digest
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{10'000};  ///< the whole request, connect included

  bool operator==(const sink_config&) const = default;
};

/// One `log` sink named "log": failures show up in dlrd's log until real sinks are set.
inline std::vector<sink_config> default_sinks() {
  sink_config log;
  log.name = "log";
  log.type = "log";
  return {log};
}

struct alert_config {
  /// Statuses whose first arrival writes a notice; the app passes them to
  /// store::store_config::notice_statuses.
  std::vector<std::string> failed_statuses{"undelivered", "rejected", "expired"};
  std::chrono::milliseconds max_age{3'600'000};      ///< older notices are dropped (counted), not sent
  std::chrono::milliseconds poll_interval{1'000};    ///< how often each sink looks for due notices
  std::size_t batch = 500;                           ///< notices claimed per poll and sink
  retry_config retry;
  std::vector<sink_config> sinks = default_sinks();

  bool operator==(const alert_config&) const = default;
};

/// Reads the `alerts` section into `out` and validates it (type-specific required keys,
/// URL schemes, unique sink names); errors name their key path, e.g. `alerts.sinks[1].url`.
/// Calls finish() on the nested sections it opens, not on `s` (the caller does).
void parse(config::section& s, alert_config& out);

}  // namespace dlrd::alert
