// Registration of the daemon's own metric series.
#include "metrics_setup.hpp"

#include <dlrd/common/thread_name.hpp>
#include <dlrd/metrics/process.hpp>
#include <dlrd/store/connection.hpp>
#include <dlrd/store/outbox.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <dlrd/status/jobs.hpp>
#include <dlrd/store/leader.hpp>
#include <dlrd/store/rule_rounds.hpp>

namespace dlrd::app {

reload_counters register_daemon_series(metrics::registry& reg) {
  reg.get_gauge("dlrd_build_info", "Always 1; the version is a label.", {{"version", DLRD_VERSION}}).set(1);
  metrics::register_process_metrics(reg);
  // Labelled `jobs`, not `job`: Prometheus's own target label would rename a `job` label.
  auto leader = [&reg](const char* jobs, std::int64_t lock_key) {
    reg.add_callback("dlrd_leader", "1 while this instance holds the advisory lock that elects the leader, by jobs.",
                     metrics::kind::gauge, [lock_key] { return static_cast<double>(store::sessions_leading(lock_key)); },
                     {{"jobs", jobs}});
  };
  leader("rate_rules", store::rule_store::leader_lock_key);
  leader("expiry_retention", status::leader_jobs::leader_lock_key);
  return reload_counters{
      reg.get_counter("dlrd_config_reloads_total", "SIGHUP reloads, by result.", {{"result", "applied"}}),
      reg.get_counter("dlrd_config_reloads_total", "SIGHUP reloads, by result.", {{"result", "refused"}})};
}

void register_gauges(metrics::registry& reg, spool::journal& journal, const http::server& listener) {
  using metrics::kind;
  auto spool_stat = [&reg, &journal](const char* name, const char* help, kind k, std::uint64_t spool::stats::*field) {
    reg.add_callback(name, help, k, [&journal, field] { return static_cast<double>(journal.snapshot().*field); });
  };
  spool_stat("dlrd_spool_backlog_records", "Records durable in the spool, not yet committed in PostgreSQL.",
             kind::gauge, &spool::stats::backlog_records);
  spool_stat("dlrd_spool_backlog_bytes", "Bytes of the spool's live segments.", kind::gauge,
             &spool::stats::backlog_bytes);
  spool_stat("dlrd_spool_retained_bytes",
             "Bytes of spool segments whose records are all committed, kept for a replay after a failover.",
             kind::gauge, &spool::stats::retained_bytes);
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

database_gauges::database_gauges(metrics::registry& reg, const store::database_config& db,
                                 std::chrono::milliseconds period, const writer_pool& writers,
                                 std::function<std::vector<std::string>()> sinks)
    : registry_(reg), url_(store::connection_string(db)), period_(period), sinks_(std::move(sinks)) {
  reg.add_callback("dlrd_database_up",
                   "1 when PostgreSQL answered the last outbox read and no writer's last attempt failed; else 0.",
                   metrics::kind::gauge, [this, &writers] {
                     return reachable_ && writers.database_problem().empty() ? 1.0 : 0.0;
                   });
}

database_gauges::~database_gauges() { stop(); }

void database_gauges::start() {
  thread_ = named_thread("dlrd-db-gauges", [this] { run(); });
}

void database_gauges::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void database_gauges::run() {
  store::connection db(url_, {"SET statement_timeout = '5s'"});
  bool failing = false;  // logged once per outage; the writers log their own failures
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto error = read_backlog(db);
    if (!error.empty() && !failing) spdlog::warn("alert outbox backlog not read: {}", error);
    if (error.empty() && failing) spdlog::info("alert outbox backlog read again");
    failing = !error.empty();
    reachable_ = !failing;
    lock.lock();
    wake_.wait_for(lock, period_, [this] { return stopping_; });
  }
}

std::string database_gauges::read_backlog(store::connection& db) {
  auto sinks = sinks_();
  std::vector<store::sink_backlog> backlog;
  try {
    backlog = store::outbox_backlog(db, sinks);
  } catch (const std::exception& e) {
    return e.what();
  }
  auto gauge = [this](const std::string& sink) -> metrics::gauge& {
    return registry_.get_gauge("dlrd_alert_outbox_backlog",
                               "Failure notices a sink has not sent yet: not yet claimed, in flight, or waiting "
                               "for a retry.",
                               {{"sink", sink}});
  };
  for (const auto& sink : known_) {
    if (std::find(sinks.begin(), sinks.end(), sink) == sinks.end()) gauge(sink).set(0);  // removed by a reload
  }
  for (const auto& b : backlog) {
    known_.insert(b.sink);
    gauge(b.sink).set(static_cast<double>(b.notices));
  }
  return {};
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


std::function<void(const alert::rule_evaluation&)> rule_round_series(metrics::registry& registry) {
  return [&registry, known = std::set<std::string>{}](const alert::rule_evaluation& round) mutable {
    auto firing = [&registry](const std::string& rule) -> metrics::gauge& {
      return registry.get_gauge("dlrd_rate_rules_firing",
                                "Groups (all traffic, or one country) in which a rate rule is firing, by rule.",
                                {{"rule", rule}});
    };
    // Transitions first: a scrape that sees a rule firing also sees the transition that fired it.
    for (const auto& t : round.transitions) {
      registry
          .get_counter("dlrd_rate_rule_transitions_total", "Rate rule groups that fired or resolved, by rule.",
                       {{"rule", t.rule}, {"transition", t.fired ? "fired" : "resolved"}})
          .inc();
    }
    for (const auto& rule : known) {
      if (round.firing.count(rule) == 0) firing(rule).set(0);  // removed by a reload
    }
    for (const auto& [rule, groups] : round.firing) {
      known.insert(rule);
      firing(rule).set(static_cast<double>(groups));
    }
  };
}

std::function<void(std::string_view, std::string_view)> auth_failure_series(metrics::registry& registry) {
  return [&registry](std::string_view profile, std::string_view reason) {
    registry
        .get_counter("dlrd_auth_failures_total", "Webhook callers refused (answered 401), by profile and failed check.",
                     {{"profile", std::string(profile)}, {"reason", std::string(reason)}})
        .inc();
  };
}

void unknown_words::count(std::string_view profile, std::string_view word) {
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

}  // namespace dlrd::app
