// The whole daemon's configuration: each module's section, stitched together.
#pragma once

#include <dlrd/alert/config.hpp>
#include <dlrd/decode/config.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/http/config.hpp>
#include <dlrd/http/webhooks.hpp>
#include <dlrd/spool/config.hpp>
#include <dlrd/store/config.hpp>
#include <dlrd/store/rules.hpp>
#include <dlrd/status/config.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::app {

struct log_config {
  std::string level = "info";  ///< trace, debug, info, warn, error, critical, off
  std::string format = "text";  ///< text | json (one JSON object per line)

  bool operator==(const log_config&) const = default;
};

struct shutdown_config {
  /// How long in-flight requests may take to finish after SIGTERM.
  std::chrono::milliseconds grace{5'000};
  /// How long writers may drain the spool into PostgreSQL before exit; what is left
  /// stays in the spool for the next start.
  std::chrono::milliseconds drain_timeout{10'000};

  bool operator==(const shutdown_config&) const = default;
};

struct daemon_config {
  http::listen_config listen;
  /// metrics_listen: when present, /metrics, /healthz and /readyz are served on this
  /// listener only (and /metrics no longer on `listen`).
  std::optional<http::listen_config> metrics_listen;
  store::database_config database;
  store::store_config store;
  spool::spool_config spool;
  decode::decode_config decode;
  std::vector<decode::profile> profiles;      ///< profiles: (the operator's own)
  std::vector<http::webhook_config> webhooks;  ///< webhooks: (default: every profile, no auth)
  auth::auth_config api_auth;                  ///< api.auth: for /v1/... and /dashboard
  log_config log;
  shutdown_config shutdown;
  alert::alert_config alerts;                                         ///< alerts.* but rules
  std::vector<store::rate_rule> rules = store::default_rate_rules();  ///< alerts.rules
  status::status_api_config status_api;  ///< status_api (GET/POST /v1/messages)
  status::expiry_config expiry;          ///< expiry (leader-only)
  status::retention_config retention;    ///< retention (leader-only)
};

/// Reads and validates `file`; throws config::config_error listing every problem
/// with file, line and key path.
daemon_config load_config(const std::string& file);

}  // namespace dlrd::app
