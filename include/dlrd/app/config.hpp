// The whole daemon's configuration: each module's section, stitched together.
#pragma once

#include <dlrd/alert/config.hpp>
#include <dlrd/decode/config.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/http/config.hpp>
#include <dlrd/http/webhooks.hpp>
#include <dlrd/spool/config.hpp>
#include <dlrd/store/config.hpp>
#include <dlrd/alert/rules.hpp>
#include <dlrd/status/config.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
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

/// `allow_unauthenticated`: the operator's explicit consent to serve routes without
/// authentication on a listen address that is not loopback. Each value is the reason
/// (logged at warn level at every start); empty means not allowed, and load_config then
/// refuses such a file.
struct exposure_config {
  std::string webhooks;  ///< webhooks without `auth:`
  std::string api;       ///< /v1/messages, /v1/stats/..., /dashboard without api.auth

  bool operator==(const exposure_config&) const = default;
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
  std::vector<alert::rate_rule> rules = alert::default_rate_rules();  ///< alerts.rules
  status::status_api_config status_api;  ///< status_api (GET/POST /v1/messages)
  status::expiry_config expiry;          ///< expiry (leader-only)
  status::retention_config retention;    ///< retention (leader-only)
  exposure_config allow_unauthenticated;  ///< allow_unauthenticated
};

/// True for 127.0.0.0/8, ::1 (also written ::ffff:127.x.y.z) and "localhost".
bool is_loopback(std::string_view address);

/// The routes of `c` that answer without authentication, by kind, whatever the address.
struct open_routes {
  std::vector<std::string> webhooks;  ///< paths of webhooks without auth
  std::vector<std::string> api;       ///< API routes, when api.auth is empty
};
open_routes unauthenticated_routes(const daemon_config& c);

/// One line per kind of route served without authentication on a non-loopback listen
/// address because `allow_unauthenticated` allows it, with the operator's reason; empty on
/// loopback or when every route has auth. For a warn-level log line at start and check-config.
std::vector<std::string> exposure_warnings(const daemon_config& c);

/// Reads and validates `file`; throws config::config_error listing every problem
/// with file, line and key path. Besides each section's own checks: database.url must be
/// a connection string libpq parses, and a non-loopback listen.address is refused while
/// webhooks or the API answer without authentication and allow_unauthenticated does not
/// say why that is intended.
daemon_config load_config(const std::string& file);

}  // namespace dlrd::app
