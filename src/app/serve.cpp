// `dlrd serve`: start in data-flow order, stop in reverse; in between, answer signals,
// keep systemd informed (STATUS, WATCHDOG) and reload the configuration on SIGHUP.
#include <dlrd/app/serve.hpp>

#include "alerting.hpp"
#include "logging.hpp"
#include "writer_pool.hpp"

#include <dlrd/decode/form.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/insights/api.hpp>
#include <dlrd/metrics/metrics.hpp>
#include <dlrd/spool/config.hpp>
#include <dlrd/store/migrations.hpp>
#include <dlrd/alert/rules.hpp>
#include <dlrd/report/codec.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/status/api.hpp>
#include <dlrd/status/jobs.hpp>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <csignal>
#include <future>
#include <optional>
#include <pthread.h>
#include <mutex>
#include <set>
#include <sstream>

namespace dlrd::app {

namespace {

using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

/// Blocks the daemon's signals in every thread; the main thread takes them with sigwait.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_signal(const sigset_t& set, milliseconds timeout) {
  timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>((timeout.count() % 1000) * 1'000'000)};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig < 0 ? 0 : sig;
}

/// Refuses to serve against a schema this build does not know; tolerates a database
/// that is down (the spool absorbs until it returns, and writers check again).
bool schema_acceptable(const store::database_config& db) {
  try {
    auto problem = store::check_schema(store::connection_string(db));
    if (!problem.empty()) {
      spdlog::critical("{}", problem);
      return false;
    }
  } catch (const std::exception& e) {
    spdlog::warn("database not reachable at start ({}); accepting into the spool until it is", e.what());
  }
  return true;
}

/// Spool corruption, found by recovery at start or by the journal at run time: counted in
/// /metrics and noticed once per damaged region as a payload set aside (profile "spool",
/// stored in dlr_quarantine by the writers), so the notice takes the alert outbox's
/// payload_quarantined path and is as durable as any spooled record.
class spool_corruption {
 public:
  spool_corruption(spool::journal& journal, const spool::recovery_report& recovery, metrics::registry& reg)
      : journal_(journal), seen_at_runtime_(journal.snapshot().corrupt_regions) {
    using metrics::kind;
    const char* regions_help =
        "Damaged spool regions (records failing their checksum or framing, not a torn tail), found by recovery at "
        "start or while running; recovery keeps their bytes in .corrupt files.";
    const auto at_recovery = static_cast<double>(recovery.corrupt_regions);
    reg.add_callback("dlrd_spool_corrupt_regions_total", regions_help, kind::counter,
                     [at_recovery] { return at_recovery; }, {{"phase", "recovery"}});
    reg.add_callback("dlrd_spool_corrupt_regions_total", regions_help, kind::counter,
                     [&journal] { return static_cast<double>(journal.snapshot().corrupt_regions); },
                     {{"phase", "runtime"}});
    const auto bytes = static_cast<double>(recovery.bytes_quarantined);
    reg.add_callback("dlrd_spool_corrupt_bytes_total",
                     "Bytes recovery copied aside to .corrupt files at start (damaged regions, and last records "
                     "that could be torn writes or damage).",
                     kind::counter, [bytes] { return bytes; });
    // One notice per region: recovery writes one problem line for each (torn tails, seq order
    // and the checkpoint have lines of their own, which are not corruption).
    std::vector<std::string> lines;
    for (const auto& p : recovery.problems) {
      if (p.find(": torn tail: ") == std::string::npos && p.find("out of seq order") == std::string::npos &&
          p.find("checkpoint file") == std::string::npos) {
        lines.push_back(p);
      }
    }
    if (lines.size() != recovery.corrupt_regions) lines.assign(recovery.corrupt_regions, spool::describe(recovery));
    for (std::size_t i = 0; i < lines.size(); ++i) {
      notice("spool corruption found by recovery (" + std::to_string(i + 1) + " of " + std::to_string(lines.size()) +
             "): " + lines[i]);
    }
  }

  /// Notices the regions the journal found unreadable since the last call.
  void tick() {
    const auto now = journal_.snapshot().corrupt_regions;
    for (; seen_at_runtime_ < now; ++seen_at_runtime_) {
      notice("spool corruption found while running (region " + std::to_string(seen_at_runtime_ + 1) +
             "): spooled records unreadable before a writer took them (see the log); the next start's recovery "
             "sets their bytes aside and replays the records around them");
    }
  }

 private:
  void notice(std::string what) {
    spdlog::error("{}", what);
    report::quarantined_payload q;
    q.provider = "spool";
    q.reason = what;
    q.content_type = "text/plain";
    q.body = std::move(what);
    q.received_at = report::now();
    journal_.append({report::encode(report::ingest_record(std::move(q)))}, [](spool::append_result r) {
      if (r != spool::append_result::durable) spdlog::error("spool corruption notice not spooled; it is only logged");
    });
  }

  spool::journal& journal_;
  std::uint64_t seen_at_runtime_;
};

/// Spool statistics and connection counters, read when /metrics is rendered.
void register_gauges(metrics::registry& reg, spool::journal& journal, const http::server& listener) {
  using metrics::kind;
  auto spool_stat = [&reg, &journal](const char* name, const char* help, kind k, std::uint64_t spool::stats::*field) {
    reg.add_callback(name, help, k, [&journal, field] { return static_cast<double>(journal.snapshot().*field); });
  };
  spool_stat("dlrd_spool_backlog_records", "Records durable in the spool, not yet committed in PostgreSQL.",
             kind::gauge, &spool::stats::backlog_records);
  spool_stat("dlrd_spool_backlog_bytes", "Bytes of the spool's live segments.", kind::gauge,
             &spool::stats::backlog_bytes);
  spool_stat("dlrd_spool_records_appended_total", "Records made durable in the spool.", kind::counter,
             &spool::stats::records_appended);
  spool_stat("dlrd_spool_records_committed_total", "Spooled records committed in PostgreSQL.", kind::counter,
             &spool::stats::records_committed);
  spool_stat("dlrd_spool_appends_full_total", "Appends refused because the spool was full (answered 503).",
             kind::counter, &spool::stats::appends_full);
  spool_stat("dlrd_spool_appends_failed_total", "Appends failed by a write or fsync error (answered 503).",
             kind::counter, &spool::stats::appends_failed);
  spool_stat("dlrd_spool_groups_written_total", "Group commits written (one write each).", kind::counter,
             &spool::stats::groups_written);
  spool_stat("dlrd_spool_syncs_total", "fdatasync calls on spool segments.", kind::counter, &spool::stats::syncs);
  reg.add_callback("dlrd_spool_oldest_record_age_seconds",
                   "How long the oldest record not yet committed in PostgreSQL has been in the spool; 0 when "
                   "nothing waits.",
                   kind::gauge, [&journal] {
                     auto oldest = journal.snapshot().oldest_spooled_at;
                     if (oldest == std::chrono::steady_clock::time_point{}) return 0.0;
                     return std::chrono::duration<double>(std::chrono::steady_clock::now() - oldest).count();
                   });

  auto conn_stat = [&reg, &listener](const char* name, const char* help, kind k,
                                     std::uint64_t http::server_counters::*field) {
    reg.add_callback(name, help, k, [&listener, field] { return static_cast<double>(listener.counters().*field); });
  };
  conn_stat("dlrd_connections_active", "Open HTTP connections.", kind::gauge,
            &http::server_counters::active_connections);
  conn_stat("dlrd_connections_accepted_total", "HTTP connections accepted.", kind::counter,
            &http::server_counters::connections_accepted);
  conn_stat("dlrd_connections_refused_total", "HTTP connections refused over listen.max_connections.",
            kind::counter, &http::server_counters::connections_refused);
}

/// sd_notify STATUS and WATCHDOG. WATCHDOG=1 is sent only while every stage shows a
/// recent heartbeat: each I/O thread's event loop, the spool appender and each writer.
class systemd_notifier {
 public:
  systemd_notifier(const http::server& listener, spool::journal& journal, const writer_pool& writers)
      : listener_(listener), journal_(journal), writers_(writers) {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
      watchdog_ = std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(usec));
      // A stage counts as stuck once its heartbeat is older than half the watchdog
      // interval (stages beat every 250 ms or faster), but never sooner than 2 s.
      stall_limit_ = std::max(watchdog_ / 2, milliseconds(2000));
      spdlog::info("systemd watchdog every {} ms; a stage silent for {} ms stops the pings", watchdog_.count(),
                   stall_limit_.count());
    }
    auto s = journal_.snapshot();
    last_status_at_ = clock::now();
    last_appended_ = s.records_appended;
    last_committed_ = s.records_committed;
  }

  /// How long the main loop may sleep between calls to tick().
  milliseconds period() const {
    return watchdog_.count() > 0 ? std::clamp(watchdog_ / 4, milliseconds(100), milliseconds(1000))
                                 : milliseconds(1000);
  }

  void tick() {
    auto now = clock::now();
    if (watchdog_.count() > 0 && now >= next_ping_) {
      auto stuck = stuck_stage(now);
      if (stuck.empty()) {
        sd_notify(0, "WATCHDOG=1");
        next_ping_ = now + watchdog_ / 2;
        if (!reported_stuck_.empty()) spdlog::info("watchdog: every stage makes progress again");
        reported_stuck_.clear();
      } else if (stuck != reported_stuck_) {
        spdlog::error("watchdog: {} made no progress for over {} ms; not pinging systemd", stuck,
                      stall_limit_.count());
        reported_stuck_ = stuck;
      }
    }
    if (now - last_status_at_ >= std::chrono::seconds(5)) status(now);
  }

 private:
  std::string stuck_stage(clock::time_point now) const {
    auto too_old = [&](clock::time_point t) { return now - t > stall_limit_; };
    if (too_old(listener_.oldest_io_heartbeat())) return "an HTTP I/O thread";
    if (too_old(journal_.snapshot().appender_heartbeat)) return "the spool appender";
    if (too_old(writers_.oldest_heartbeat())) return "a PostgreSQL writer";
    return {};
  }

  void status(clock::time_point now) {
    auto s = journal_.snapshot();
    double seconds = std::chrono::duration<double>(now - last_status_at_).count();
    double acked = static_cast<double>(s.records_appended - last_appended_) / seconds;
    double committed = static_cast<double>(s.records_committed - last_committed_) / seconds;
    char line[200];
    std::snprintf(line, sizeof line, "STATUS=backlog %llu records (%llu bytes), acked %.1f/s, committed %.1f/s",
                  static_cast<unsigned long long>(s.backlog_records),
                  static_cast<unsigned long long>(s.backlog_bytes), acked, committed);
    sd_notify(0, line);
    last_status_at_ = now;
    last_appended_ = s.records_appended;
    last_committed_ = s.records_committed;
  }

  const http::server& listener_;
  spool::journal& journal_;
  const writer_pool& writers_;
  milliseconds watchdog_{0};
  milliseconds stall_limit_{0};
  clock::time_point next_ping_{};
  std::string reported_stuck_;
  clock::time_point last_status_at_;
  std::uint64_t last_appended_ = 0;
  std::uint64_t last_committed_ = 0;
};

// ---- status API (/v1/messages) and its leader-only jobs ---------------------------------

/// The status API as an API route: answered without holding an I/O thread (long-polls wait
/// in memory), errors in the handler's JSON error shape.
http::api_route status_route(status::service& api) {
  http::api_route route;
  route.prefix = "/v1/messages";
  route.serve_async = [&api](const http::request& req, std::function<void(http::response)> done) {
    const unsigned version = req.version();
    status::api_request in{std::string_view(req.method_string().data(), req.method_string().size()),
                           std::string_view(req.target().data(), req.target().size()), req.body()};
    api.handle(in, [version, done = std::move(done)](status::answer a) {
      namespace bhttp = boost::beast::http;
      http::response res;
      if (!a.error.empty()) {
        res = http::handler::error(version, static_cast<bhttp::status>(a.status), a.error, a.field);
        if (!a.allow.empty()) res.set(bhttp::field::allow, a.allow);
        if (a.retry_after > 0) res.set(bhttp::field::retry_after, std::to_string(a.retry_after));
      } else {
        res = http::response(static_cast<bhttp::status>(a.status), version);
        res.set(bhttp::field::content_type, "application/json");
        res.set(bhttp::field::cache_control, "no-store");
        res.body() = std::move(a.body);
      }
      res.prepare_payload();
      done(std::move(res));
    });
  };
  return route;
}

/// The expiry job's reports go into the spool like a gateway's, so the writers store them
/// (and notice them) through the one write path. Blocks until the spool has answered.
status::report_sink spool_sink(spool::journal& journal) {
  return [&journal](std::vector<report::delivery_report> reports) {
    std::vector<std::string> payloads;
    payloads.reserve(reports.size());
    for (auto& r : reports) payloads.push_back(report::encode(report::ingest_record(std::move(r))));
    auto result = std::make_shared<std::promise<spool::append_result>>();
    auto answered = result->get_future();
    journal.append(std::move(payloads), [result](spool::append_result r) { result->set_value(r); });
    return answered.get() == spool::append_result::durable;
  };
}

void register_status_gauges(metrics::registry& reg, const status::service& api) {
  using metrics::kind;
  auto stat = [&reg, &api](const char* name, const char* help, kind k, std::uint64_t status::service_counters::*field) {
    reg.add_callback(name, help, k, [&api, field] { return static_cast<double>(api.counters().*field); });
  };
  stat("dlrd_status_waiters", "Long-polls waiting for a final status on this instance.", kind::gauge,
       &status::service_counters::waiting);
  stat("dlrd_status_woken_total", "Long-polls answered because their messages became final.", kind::counter,
       &status::service_counters::woken);
  stat("dlrd_status_timed_out_total", "Long-polls answered at their timeout.", kind::counter,
       &status::service_counters::timed_out);
  stat("dlrd_status_notifications_total", "Wake-up notifications received over LISTEN.", kind::counter,
       &status::service_counters::notifications);
  stat("dlrd_status_refused_total", "Status API requests answered 503 (limits, database, shutdown).", kind::counter,
       &status::service_counters::refused);
}

// ---- end of the status API helpers ------------------------------------------------------

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
  if (!(sa == sb)) out.emplace_back("store.*");
  if (!(a.spool == b.spool)) out.emplace_back("spool.*");
  if (!(a.decode == b.decode)) out.emplace_back("decode.*");
  // Sinks and their knobs reload live; the failed statuses are the writers' and need a restart.
  if (a.alerts.failed_statuses != b.alerts.failed_statuses) out.emplace_back("alerts.failed_statuses");
  if (!(a.status_api == b.status_api)) out.emplace_back("status_api.*");
  return out;
}

void log_webhooks(const http::webhook_table& table) {
  for (const auto& ep : table.endpoints()) {
    spdlog::info("webhook {} -> profile {}{}", ep->config.path, ep->profile.name,
                 ep->verifier.empty() ? " (no authentication: anyone who can reach it may post reports)" : "");
  }
}

/// dlrd_unknown_status_total{profile,word}: a gateway's new status word is worth seeing, but a
/// hostile or broken caller must not create unbounded series, so words past the first
/// `max_words` distinct ones count under word="other".
class unknown_words {
 public:
  explicit unknown_words(metrics::registry& r) : registry_(r) {}
  void count(std::string_view profile, std::string_view word) {
    std::string key = std::string(profile) + '\0' + std::string(word);
    {
      std::lock_guard lock(mutex_);
      if (!seen_.contains(key)) {
        if (seen_.size() >= max_words) key.clear();
        else seen_.insert(key);
      }
    }
    registry_
        .get_counter("dlrd_unknown_status_total", "Status words a profile did not know (kept raw, read as pending).",
                     {{"profile", std::string(profile)}, {"word", key.empty() ? "other" : std::string(word)}})
        .inc();
  }

 private:
  static constexpr std::size_t max_words = 200;
  metrics::registry& registry_;
  std::mutex mutex_;
  std::set<std::string> seen_;
};

/// SIGHUP: reads the file again with the same loader. An invalid file is refused as a
/// whole; a valid one has its live keys (log.*, shutdown.*, alerts but their failed statuses, rules, profiles,
/// webhooks and their auth, api.auth, expiry, retention, the TLS files) taken into `current` for the caller to
/// apply, and changed keys that need a restart are named. Returns false when the file was refused.
bool reload(daemon_config& current, const std::string& path) {
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

int serve(const daemon_config& initial, const std::string& config_path) {
  auto signals = block_signals();
  daemon_config config = initial;
  spdlog::info("dlrd starting: listen {}:{}, {} writer(s), spool {} at {}", config.listen.address,
               config.listen.port, config.store.workers, config.spool.kind, config.spool.dir);

  const auto db_url = store::connection_string(config.database);  // the database section needs a restart
  if (config.database.migrate_on_start) {
    auto result = store::migrate(db_url);
    for (const auto& note : result.notes) spdlog::warn("migrate: {}", note);
    for (const auto& name : result.applied) spdlog::info("applied migration {}", name);
  }
  if (!schema_acceptable(config.database)) return 1;

  metrics::registry registry;
  registry.get_gauge("dlrd_build_info", "Always 1; the version is a label.", {{"version", DLRD_VERSION}}).set(1);
  auto& reloads_ok = registry.get_counter("dlrd_config_reloads_total", "SIGHUP reloads, by result.",
                                          {{"result", "applied"}});
  auto& reloads_refused = registry.get_counter("dlrd_config_reloads_total", "SIGHUP reloads, by result.",
                                               {{"result", "refused"}});

  spool::recovery_report recovery;
  auto journal = spool::open_journal(config.spool, recovery);
  spool_corruption corruption(*journal, recovery, registry);  // counted and noticed (issue 19)

  writer_pool writers(*journal, config.database, config.store, &registry);
  writers.start();
  // Notices go out and rate rules run on connections of their own: never in the ingest path.
  live_alerts alerts(config.database, config.alerts, registry);
  alerts.start();
  alert::rule_runner rules(config.rules, db_url);
  rules.on_round([&registry, known = std::set<std::string>{}](const alert::rule_evaluation& round) mutable {
    auto firing = [&registry](const std::string& rule) -> metrics::gauge& {
      return registry.get_gauge("dlrd_rate_rules_firing",
                                "Groups (all traffic, or one country) in which a rate rule is firing, by rule.",
                                {{"rule", rule}});
    };
    for (const auto& rule : known) {
      if (round.firing.count(rule) == 0) firing(rule).set(0);  // removed by a reload
    }
    for (const auto& [rule, groups] : round.firing) {
      known.insert(rule);
      firing(rule).set(static_cast<double>(groups));
    }
    for (const auto& t : round.transitions) {
      registry
          .get_counter("dlrd_rate_rule_transitions_total", "Rate rule groups that fired or resolved, by rule.",
                       {{"rule", t.rule}, {"transition", t.fired ? "fired" : "resolved"}})
          .inc();
    }
  });
  rules.start();
  // ---- status API: the service answers /v1/messages; the leader runs expiry and retention.
  status::service status_api(config.status_api, db_url);
  status::leader_jobs_runner status_jobs(config.expiry, config.retention, db_url,
                                         spool_sink(*journal));
  status_jobs.start();
  // ---- end status API

  auto webhooks = std::make_shared<http::webhook_routes>(
      std::make_shared<const http::webhook_table>(config.webhooks, config.profiles, config.api_auth));
  log_webhooks(*webhooks->get());
  http::handler_config handling;
  handling.decode = config.decode;
  handling.webhooks = webhooks;
  handling.on_auth_failure = [&registry](std::string_view profile, std::string_view reason) {
    registry
        .get_counter("dlrd_auth_failures_total", "Webhook callers refused (answered 401), by profile and failed check.",
                     {{"profile", std::string(profile)}, {"reason", std::string(reason)}})
        .inc();
  };
  unknown_words unknown(registry);
  handling.on_unknown_status = [&unknown](std::string_view profile, std::string_view word) {
    unknown.count(profile, word);
  };
  handling.ready = [&writers, &journal]() {
    auto problem = writers.database_problem();
    if (problem.empty()) return http::readiness{};
    return http::readiness{true, "degraded: " + problem + "; spool absorbing " +
                                     std::to_string(journal->snapshot().backlog_records) + " records"};
  };
  handling.metrics = [&registry] { return registry.render(); };
  if (config.status_api.enabled) {  // ---- status API route
    status_api.start();
    handling.api_routes.push_back(status_route(status_api));
    register_status_gauges(registry, status_api);
  }
  // ---- insights: stats API and the dashboard page (read-only; cached answers)
  insights::stats_service stats(db_url);
  // Answered on the stats service's own threads and queue (bounded; 503 when full), never on
  // the server's blocking pool: a slow stats query holds up nothing else.
  handling.api_routes.push_back(http::api_route{"/v1/stats/", {}, [&stats](const http::request& req,
                                                                           std::function<void(http::response)> done) {
    if (req.method() != boost::beast::http::verb::get) {
      auto res = http::handler::error(req.version(), boost::beast::http::status::method_not_allowed,
                                      "method " + std::string(req.method_string()) + " is not allowed here");
      res.set(boost::beast::http::field::allow, "GET");
      return done(std::move(res));
    }
    stats.answer_async(std::string(decode::path_of(req.target())), std::string(decode::query_of(req.target())),
                       [version = req.version(), done = std::move(done)](insights::stats_answer a) {
                         http::response res{static_cast<boost::beast::http::status>(a.status), version};
                         res.set(boost::beast::http::field::content_type, "application/json");
                         res.set(boost::beast::http::field::cache_control, "no-store");
                         if (a.retry_after > 0) res.set(boost::beast::http::field::retry_after, std::to_string(a.retry_after));
                         res.body() = std::move(a.body);
                         res.prepare_payload();
                         done(std::move(res));
                       });
  }});
  handling.api_routes.push_back(http::api_route{"/dashboard", [](const http::request& req) {
    http::response res{boost::beast::http::status::ok, req.version()};
    res.set(boost::beast::http::field::content_type, "text/html; charset=utf-8");
    res.set(boost::beast::http::field::cache_control, "no-cache");
    // Everything is inline and same-origin: the page may not load anything from elsewhere.
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
            "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.body() = std::string(insights::dashboard_html());
    return res;
  }, {}});
  // A separate listener for the scraper and the health checks, when configured: it serves
  // nothing else, and /metrics leaves the main listener.
  std::optional<http::server> metrics_listener;
  if (config.metrics_listen) {
    http::handler_config probes;
    probes.ready = handling.ready;
    probes.metrics = handling.metrics;
    metrics_listener.emplace(*config.metrics_listen, probes, *journal);
    handling.metrics = nullptr;
  }
  http::server listener(config.listen, handling, *journal, &registry);
  register_gauges(registry, *journal, listener);
  listener.start();
  spdlog::info("listening on {}:{}", config.listen.address, listener.port());
  if (metrics_listener) {
    metrics_listener->start();
    spdlog::info("metrics and health on {}:{}", config.metrics_listen->address, metrics_listener->port());
  }
  sd_notify(0, "READY=1");

  systemd_notifier notifier(listener, *journal, writers);
  for (;;) {
    int sig = wait_signal(signals, notifier.period());
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      if (reload(config, config_path)) {
        rules.set_rules(config.rules);
        try {
          alerts.apply(config.alerts);
        } catch (const std::exception& e) {
          spdlog::error("reload: keeping the running alert sinks: {}", e.what());
        }
        status_jobs.set_config(config.expiry, config.retention);  // status API
        webhooks->set(std::make_shared<const http::webhook_table>(config.webhooks, config.profiles, config.api_auth));
        log_webhooks(*webhooks->get());
        if (config.listen.tls) {
          // Renewed certificates are usually written over the old files: read them again.
          try {
            listener.reload_tls(*config.listen.tls);
            spdlog::info("reload: TLS certificate read again from {}", config.listen.tls->cert_file);
          } catch (const std::exception& e) {
            spdlog::error("reload: keeping the current TLS certificate: {}", e.what());
          }
        }
        // Counted once everything is in place: whoever watches the counter sees the new config.
        reloads_ok.inc();
      } else {
        reloads_refused.inc();
      }
      sd_notify(0, "READY=1");
    }
    notifier.tick();
    corruption.tick();
  }

  sd_notify(0, "STOPPING=1");
  spdlog::info("stopping: finishing in-flight requests");
  status_api.stop();  // long-polls answer now with their current state, so they do not hold up the stop
  listener.stop(config.shutdown.grace);
  status_jobs.stop();  // before the spool closes: an expiry run in progress still appends
  journal->close();

  spdlog::info("draining {} spooled record(s) for at most {} ms", journal->snapshot().backlog_records,
               config.shutdown.drain_timeout.count());
  auto deadline = clock::now() + config.shutdown.drain_timeout;
  while (journal->snapshot().backlog_records > 0 && clock::now() < deadline) {
    int sig = wait_signal(signals, milliseconds(20));
    if (sig == SIGTERM || sig == SIGINT) {
      // Safe: everything acked is in the spool and replays at the next start.
      spdlog::warn("second signal: exiting now, {} record(s) stay in the spool",
                   journal->snapshot().backlog_records);
      std::_Exit(0);
    }
  }
  rules.stop();
  writers.stop();
  alerts.stop();  // after the writers: notices written while draining still go out
  auto left = journal->snapshot().backlog_records;
  if (metrics_listener) metrics_listener->stop(std::chrono::milliseconds(0));  // scrapeable while draining
  journal.reset();
  if (left > 0) spdlog::warn("stopped with {} record(s) left in the spool for the next start", left);
  spdlog::info("dlrd stopped");
  return 0;
}

}  // namespace dlrd::app
