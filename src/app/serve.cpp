// `dlrd serve`: start in data-flow order, stop in reverse; in between, answer signals,
// keep systemd informed (STATUS, WATCHDOG) and reload the configuration on SIGHUP.
#include <dlrd/app/serve.hpp>

#include "alerting.hpp"
#include "allocator.hpp"
#include "metrics_setup.hpp"
#include "reload.hpp"
#include "routes.hpp"
#include "spool_corruption.hpp"
#include "spool_lock.hpp"
#include "systemd_notifier.hpp"
#include "writer_pool.hpp"

#include <dlrd/alert/rules.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/insights/api.hpp>
#include <dlrd/metrics/metrics.hpp>
#include <dlrd/report/codec.hpp>
#include <dlrd/spool/config.hpp>
#include <dlrd/status/api.hpp>
#include <dlrd/status/jobs.hpp>
#include <dlrd/store/migrations.hpp>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <csignal>
#include <future>
#include <optional>
#include <pthread.h>

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

/// Migrates when configured, then refuses to serve against a schema this build does not know;
/// tolerates a database that is down (the spool absorbs until it returns, and writers check again).
bool prepare_database(const store::database_config& db, const std::string& url) {
  if (db.migrate_on_start) {
    auto result = store::migrate(url);
    for (const auto& note : result.notes) spdlog::warn("migrate: {}", note);
    for (const auto& name : result.applied) spdlog::info("applied migration {}", name);
  }
  try {
    auto problem = store::check_schema(url);
    if (!problem.empty()) {
      spdlog::critical("{}", problem);
      return false;
    }
  } catch (const std::exception& e) {
    spdlog::warn("database not reachable at start ({}); accepting into the spool until it is", e.what());
  }
  return true;
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

/// How the listener hands requests to the daemon: decoding, the webhooks, the refused callers
/// and unknown words counted, readiness, and /metrics.
http::handler_config handling_for(const daemon_config& config, std::shared_ptr<http::webhook_routes> webhooks,
                                  metrics::registry& registry, unknown_words& unknown, const writer_pool& writers,
                                  spool::journal& journal) {
  http::handler_config handling;
  handling.decode = config.decode;
  handling.webhooks = std::move(webhooks);
  handling.on_auth_failure = auth_failure_series(registry);
  handling.on_unknown_status = [&unknown](std::string_view profile, std::string_view word) {
    unknown.count(profile, word);
  };
  handling.ready = [&writers, &journal]() {
    auto problem = writers.database_problem();
    if (problem.empty()) return http::readiness{};
    return http::readiness{true, "degraded: " + problem + "; spool absorbing " +
                                     std::to_string(journal.snapshot().backlog_records) + " records"};
  };
  handling.metrics = [&registry] { return registry.render(); };
  return handling;
}

/// The status API (when enabled, started here), the stats API and the dashboard.
void add_api_routes(http::handler_config& handling, const daemon_config& config, status::service& status_api,
                    insights::stats_service& stats, metrics::registry& registry) {
  if (config.status_api.enabled) {
    status_api.start();
    handling.api_routes.push_back(status_route(status_api));
    register_status_gauges(registry, status_api);
  }
  handling.api_routes.push_back(stats_route(stats));
  handling.api_routes.push_back(dashboard_route());
}

/// The main listener and, when configured, a separate one for the scraper and the health
/// checks: it serves nothing else, and /metrics leaves the main listener.
class listeners {
 public:
  listeners(const daemon_config& config, http::handler_config handling, spool::journal& journal,
            metrics::registry& registry)
      : config_(config) {
    if (config.metrics_listen) {
      http::handler_config probes;
      probes.ready = handling.ready;
      probes.metrics = handling.metrics;
      probes_.emplace(*config.metrics_listen, probes, journal);
      handling.metrics = nullptr;
    }
    main_.emplace(config.listen, std::move(handling), journal, &registry);
  }

  http::server& main() { return *main_; }

  void start() {
    main_->start();
    spdlog::info("listening on {}:{}", config_.listen.address, main_->port());
    if (probes_) {
      probes_->start();
      spdlog::info("metrics and health on {}:{}", config_.metrics_listen->address, probes_->port());
    }
  }

  /// After the drain: scrapeable until then.
  void stop_probes() {
    if (probes_) probes_->stop(milliseconds(0));
  }

 private:
  const daemon_config& config_;
  std::optional<http::server> probes_;  // outlives the main listener, as it is stopped last
  std::optional<http::server> main_;
};

/// Answers signals until SIGTERM or SIGINT: SIGHUP reloads; between signals systemd hears
/// how things go and corruption found at run time is noticed.
void run_until_stopped(const sigset_t& signals, daemon_config& config, const std::string& config_path,
                       live_parts& live, systemd_notifier& notifier, spool_corruption& corruption) {
  for (;;) {
    int sig = wait_signal(signals, notifier.period());
    if (sig == SIGTERM || sig == SIGINT) return;
    if (sig == SIGHUP) {
      sd_notify(0, "RELOADING=1");
      apply_reload(config, config_path, live);
      sd_notify(0, "READY=1");
    }
    notifier.tick();
    corruption.tick();
  }
}

/// Waits at most `timeout` for the writers to commit what the spool holds. A second signal
/// exits at once: safe, as everything acked is in the spool and replays at the next start.
void drain(const sigset_t& signals, spool::journal& journal, milliseconds timeout) {
  spdlog::info("draining {} spooled record(s) for at most {} ms", journal.snapshot().backlog_records, timeout.count());
  auto deadline = clock::now() + timeout;
  while (journal.snapshot().backlog_records > 0 && clock::now() < deadline) {
    int sig = wait_signal(signals, milliseconds(20));
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::warn("second signal: exiting now, {} record(s) stay in the spool", journal.snapshot().backlog_records);
      std::_Exit(0);
    }
  }
}

}  // namespace

int serve(const daemon_config& initial, const std::string& config_path) {
  auto signals = block_signals();
  daemon_config config = initial;
  spdlog::info("dlrd starting: listen {}:{}, {} writer(s), spool {} at {}, malloc {}", config.listen.address,
               config.listen.port, config.store.workers, config.spool.kind, config.spool.dir, allocator_name());
  // First: a second process must not recover or append to the segments the first is writing.
  std::optional<spool_lock> spool_owner;
  if (config.spool.kind != "memory") spool_owner.emplace(config.spool.dir);
  const auto db_url = store::connection_string(config.database);  // the database section needs a restart
  if (!prepare_database(config.database, db_url)) return 1;

  metrics::registry registry;
  auto reloads = register_daemon_series(registry);
  spool::recovery_report recovery;
  auto journal = spool::open_journal(config.spool, recovery);
  spool_corruption corruption(*journal, recovery, registry);

  writer_pool writers(*journal, config.database, config.store, &registry);
  writers.start();
  // Notices go out and rate rules run on connections of their own: never in the ingest path.
  live_alerts alerts(config.database, config.alerts, registry);
  alerts.start();
  database_gauges database(registry, config.database, config.alerts.poll_interval, writers,
                           [&alerts] { return alerts.sink_names(); });
  database.start();
  alert::rule_runner rules(config.rules, db_url);
  rules.on_round(rule_round_series(registry));
  rules.start();
  status::service status_api(config.status_api, db_url);
  status::leader_jobs_runner status_jobs(config.expiry, config.retention, db_url, spool_sink(*journal));
  status_jobs.start();
  insights::stats_service stats(db_url);

  auto webhooks = std::make_shared<http::webhook_routes>(webhook_table_of(config));
  log_webhooks(*webhooks->get());
  unknown_words unknown(registry);
  auto handling = handling_for(config, webhooks, registry, unknown, writers, *journal);
  add_api_routes(handling, config, status_api, stats, registry);
  listeners http(config, std::move(handling), *journal, registry);
  register_gauges(registry, *journal, http.main());
  http.start();
  sd_notify(0, "READY=1");

  systemd_notifier notifier(http.main(), *journal, writers);
  live_parts live{rules, alerts, status_jobs, *webhooks, http.main(), reloads};
  run_until_stopped(signals, config, config_path, live, notifier, corruption);

  sd_notify(0, "STOPPING=1");
  spdlog::info("stopping: finishing in-flight requests");
  status_api.stop();  // long-polls answer now with their current state, so they do not hold up the stop
  http.main().stop(config.shutdown.grace);
  status_jobs.stop();  // before the spool closes: an expiry run in progress still appends
  journal->close();
  drain(signals, *journal, config.shutdown.drain_timeout);
  rules.stop();
  writers.stop();
  alerts.stop();  // after the writers: notices written while draining still go out
  auto left = journal->snapshot().backlog_records;
  http.stop_probes();
  journal.reset();
  if (left > 0) spdlog::warn("stopped with {} record(s) left in the spool for the next start", left);
  spdlog::info("dlrd stopped");
  return 0;
}

}  // namespace dlrd::app
