// SIGHUP: read the file with the same loader, take its live keys, apply them to the running parts.
#include "reload.hpp"

#include "logging.hpp"

#include <spdlog/spdlog.h>

#include <sstream>
#include <vector>

namespace dlrd::app {

namespace {

/// The keys whose change needs a restart, as `section.*` or a key's path.
std::vector<std::string> restart_sections(const daemon_config& a, const daemon_config& b) {
  std::vector<std::string> out;
  // The TLS certificate and key reload live; turning TLS on or off needs a restart.
  auto la = a.listen, lb = b.listen;
  if (la.tls.has_value() == lb.tls.has_value()) la.tls = lb.tls;
  if (!(la == lb)) out.emplace_back("listen.*");
  if (!(a.metrics_listen == b.metrics_listen)) out.emplace_back("metrics_listen.*");
  if (!(a.database == b.database)) out.emplace_back("database.*");
  auto sa = a.store, sb = b.store;
  sa.notice_statuses = sb.notice_statuses;  // alerts.failed_statuses, named below
  sa.quiet_expiries = sb.quiet_expiries;    // expiry.rules[].notify, named below
  if (!(sa == sb)) out.emplace_back("store.*");
  if (!(a.spool == b.spool)) out.emplace_back("spool.*");
  if (!(a.decode == b.decode)) out.emplace_back("decode.*");
  // Sinks and their knobs reload live; the failed statuses are the writers' and need a restart.
  if (a.alerts.failed_statuses != b.alerts.failed_statuses) out.emplace_back("alerts.failed_statuses");
  if (a.store.quiet_expiries != b.store.quiet_expiries) out.emplace_back("expiry.rules[].notify");
  if (!(a.status_api == b.status_api)) out.emplace_back("status_api.*");
  return out;
}

/// SIGHUP: reads the file again with the same loader. An invalid file is refused as a
/// whole; a valid one has its live keys (log.*, shutdown.*, alerts but their failed statuses, rules, profiles,
/// webhooks and their auth, api.auth, expiry, retention, the TLS files) taken into `current` for the caller to
/// apply, and changed keys that need a restart are named. Returns false when the file was refused.
bool read_again(daemon_config& current, const std::string& path) {
  daemon_config next;
  try {
    next = load_config(path);
  } catch (const config::config_error& e) {
    std::istringstream lines(e.what());
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) spdlog::error("reload refused: {}", line);
    }
    spdlog::error("reload refused: {} is invalid; still running on the previous configuration", path);
    return false;
  }
  bool changed = false;
  if (next.log.level != current.log.level) {
    auto from = spdlog::level::from_str(current.log.level);
    auto to = spdlog::level::from_str(next.log.level);
    // Log the change under whichever level is the more verbose, so it shows either way.
    if (to < from) spdlog::set_level(to);
    spdlog::info("reload: log.level {} -> {}", current.log.level, next.log.level);
    spdlog::set_level(to);
    changed = true;
  }
  if (next.log.format != current.log.format) {
    spdlog::info("reload: log.format {} -> {}", current.log.format, next.log.format);
    setup_logging(next.log);
    changed = true;
  }
  if (!(next.shutdown == current.shutdown)) {
    spdlog::info("reload: shutdown.grace {} ms, shutdown.drain_timeout {} ms", next.shutdown.grace.count(),
                 next.shutdown.drain_timeout.count());
    changed = true;
  }
  auto restart = restart_sections(current, next);
  for (const auto& section : restart) {
    spdlog::warn("reload: {} changed in {}, but it needs a restart; the running values stay in effect until then",
                 section, path);
  }
  current.log = next.log;
  current.shutdown = next.shutdown;
  current.rules = next.rules;
  auto failed_statuses = std::move(current.alerts.failed_statuses);
  current.alerts = next.alerts;  // the sinks are replaced by the caller
  current.alerts.failed_statuses = std::move(failed_statuses);
  // Endpoints, their profiles and their secrets change live: the handler reads the table
  // per request and the next request sees the new one.
  if (current.listen.tls && next.listen.tls) current.listen.tls = next.listen.tls;
  current.profiles = next.profiles;
  current.webhooks = next.webhooks;
  current.api_auth = next.api_auth;
  current.expiry = next.expiry;        // the leader's jobs take them at their next tick
  current.retention = next.retention;
  spdlog::info("reload: {} read; {}", path, changed ? "live changes applied" : "nothing to change live");
  return true;
}

}  // namespace

std::shared_ptr<const http::webhook_table> webhook_table_of(const daemon_config& config) {
  return std::make_shared<const http::webhook_table>(config.webhooks, config.profiles, config.api_auth);
}

void log_webhooks(const http::webhook_table& table) {
  for (const auto& ep : table.endpoints()) {
    spdlog::info("webhook {} -> profile {}{}", ep->config.path, ep->profile.name,
                 ep->verifier.empty() ? " (no authentication: anyone who can reach it may post reports)" : "");
  }
}

void apply_reload(daemon_config& config, const std::string& path, live_parts& live) {
  if (!read_again(config, path)) {
    live.counters.refused.inc();
    return;
  }
  live.rules.set_rules(config.rules);
  try {
    live.alerts.apply(config.alerts);
  } catch (const std::exception& e) {
    spdlog::error("reload: keeping the running alert sinks: {}", e.what());
  }
  live.status_jobs.set_config(config.expiry, config.retention);
  live.webhooks.set(webhook_table_of(config));
  log_webhooks(*live.webhooks.get());
  if (config.listen.tls) {
    // Renewed certificates are usually written over the old files: read them again.
    try {
      live.listener.reload_tls(*config.listen.tls);
      spdlog::info("reload: TLS certificate read again from {}", config.listen.tls->cert_file);
    } catch (const std::exception& e) {
      spdlog::error("reload: keeping the current TLS certificate: {}", e.what());
    }
  }
  // Counted once everything is in place: whoever watches the counter sees the new config.
  live.counters.applied.inc();
}

}  // namespace dlrd::app
