// SIGHUP: the configuration read again and its live keys applied to the running daemon.
#pragma once

#include "alerting.hpp"
#include "metrics_setup.hpp"

#include <dlrd/alert/rules.hpp>
#include <dlrd/app/config.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/http/webhooks.hpp>
#include <dlrd/status/jobs.hpp>

#include <string>

namespace dlrd::app {

/// The running parts a reload changes.
struct live_parts {
  alert::rule_runner& rules;
  live_alerts& alerts;
  status::leader_jobs_runner& status_jobs;
  http::webhook_routes& webhooks;
  http::server& listener;
  reload_counters counters;
};

/// Reads `path` again. An invalid file is refused as a whole (logged, counted, nothing changes);
/// a valid one has its live keys taken into `config` and applied to `live`, and changed keys
/// that need a restart are named in the log. For the main thread only.
void apply_reload(daemon_config& config, const std::string& path, live_parts& live);

/// The endpoint table of `config`'s webhooks, profiles and API auth.
std::shared_ptr<const http::webhook_table> webhook_table_of(const daemon_config& config);

/// One log line per endpoint, warning about those without authentication.
void log_webhooks(const http::webhook_table& table);

}  // namespace dlrd::app
