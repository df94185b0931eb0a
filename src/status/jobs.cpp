// Leader-only expiry (reports into the spool, like a gateway's) and retention (bounded deletes).
#include <dlrd/status/jobs.hpp>

#include "messages.hpp"

#include <dlrd/report/time.hpp>
#include <dlrd/store/leader.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace dlrd::status {

namespace {

using std::chrono::milliseconds;

const char* param(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }

}  // namespace

leader_jobs::leader_jobs(expiry_config expiry, retention_config retention, std::string url, report_sink sink)
    : expiry_(std::move(expiry)),
      retention_(std::move(retention)),
      sink_(std::move(sink)),
      session_(std::make_unique<store::leader_session>(std::move(url), leader_lock_key)) {}

leader_jobs::~leader_jobs() = default;  // closing the connection releases the lock

void leader_jobs::set_config(expiry_config expiry, retention_config retention) {
  expiry_ = std::move(expiry);
  retention_ = std::move(retention);
}

bool leader_jobs::leader() const { return session_->leader(); }

expiry_run leader_jobs::expire_once() {
  expiry_run out;
  try {
    if (!session_->lead()) return out;
    out.leader = true;
    auto rules = expiry_.rules;
    std::stable_sort(rules.begin(), rules.end(), [](const auto& a, const auto& b) { return a.after < b.after; });
    std::vector<report::delivery_report> reports;
    std::vector<std::string> taken;
    std::vector<std::pair<std::string, std::size_t>> counts;
    const auto received = report::now();
    {
      pqxx::read_transaction tx(session_->connection());
      for (const auto& rule : rules) {
        if (reports.size() >= expiry_.batch) break;
        // The first two predicates repeat idx_sms_logs_pending_since's (sql/0008).
        auto rows = tx.exec_params(
            "SELECT s.message_id, s.to_number, s.from_number, "
            "       (extract(epoch FROM coalesce(s.sent_at, s.created_at)) * 1000000)::bigint "
            "  FROM sms_logs s "
            " WHERE dlr_status_class(s.status) = 0 "
            "   AND coalesce(s.sent_at, s.created_at) < now() - $1::bigint * interval '1 millisecond' "
            "   AND ($2::text IS NULL OR s.tags @> ARRAY[$2::text]) "
            "   AND ($3::text IS NULL OR s.from_number = $3::text) "
            "   AND ($4::text IS NULL OR starts_with(s.to_number, $4::text)) "
            "   AND ($5::text IS NULL OR s.provider = $5::text) "
            "   AND NOT (s.message_id = ANY ($6::text[])) "
            " ORDER BY coalesce(s.sent_at, s.created_at) LIMIT $7",
            static_cast<std::int64_t>(rule.after.count()), param(rule.tag), param(rule.sender),
            param(rule.recipient_prefix), param(rule.provider), pg_array(taken),
            static_cast<std::int64_t>(expiry_.batch - reports.size()));
        std::size_t n = 0;
        for (const auto& row : rows) {
          report::delivery_report r;
          r.message_id = row[0].as<std::string>();
          r.canonical = report::status::expired;
          r.raw_status = std::string(expiry_raw_prefix) + rule.name;
          r.event_at = report::time_point(std::chrono::microseconds(row[3].as<std::int64_t>())) +
                       std::chrono::duration_cast<std::chrono::microseconds>(rule.after);
          r.event_time_from_gateway = false;
          r.received_at = received;
          r.provider = std::string(expiry_provider);
          if (!row[1].is_null()) r.recipient = row[1].as<std::string>();
          if (!row[2].is_null()) r.sender = row[2].as<std::string>();
          taken.push_back(r.message_id);
          reports.push_back(std::move(r));
          ++n;
        }
        if (n > 0) counts.emplace_back(rule.name, n);
      }
      tx.commit();
    }
    if (reports.empty()) return out;
    const auto total = reports.size();
    if (!sink_(std::move(reports))) {
      spdlog::warn("expiry: the spool refused {} expiry report(s); the next run tries again", total);
      return out;
    }
    out.expired = total;
    for (auto& [name, n] : counts) out.by_rule[name] += n;
  } catch (...) {
    // Start over on a new session: the lock goes with the old one.
    session_->reset();
    throw;
  }
  return out;
}

retention_run leader_jobs::retain_once() {
  retention_run out;
  try {
    if (!session_->lead()) return out;
    out.leader = true;
    const auto batch = static_cast<std::int64_t>(retention_.batch);
    if (retention_.events_after) {
      pqxx::work tx(session_->connection());
      // The inner query reads through dlr_events_stored_at_brin (sql/0008).
      out.events_deleted = tx.exec_params1(
                                 "WITH d AS (DELETE FROM dlr_events WHERE id IN ("
                                 "  SELECT id FROM dlr_events WHERE stored_at < now() - $1::bigint * interval "
                                 "'1 millisecond' LIMIT $2) RETURNING 1) SELECT count(*) FROM d",
                                 static_cast<std::int64_t>(retention_.events_after->count()), batch)[0]
                               .as<std::size_t>();
      tx.commit();
    }
    if (retention_.sms_logs_after) {
      pqxx::work tx(session_->connection());
      // Final rows only; the predicate repeats idx_sms_logs_final_status_at's (sql/0007).
      out.sms_logs_deleted =
          tx.exec_params1(
                "WITH d AS (DELETE FROM sms_logs WHERE id IN ("
                "  SELECT id FROM sms_logs WHERE status IN ('delivered', 'undelivered', 'rejected', 'expired') "
                "  AND status_at < now() - $1::bigint * interval '1 millisecond' LIMIT $2) RETURNING 1) "
                "SELECT count(*) FROM d",
                static_cast<std::int64_t>(retention_.sms_logs_after->count()), batch)[0]
              .as<std::size_t>();
      tx.commit();
    }
  } catch (...) {
    session_->reset();
    throw;
  }
  return out;
}

leader_jobs_runner::leader_jobs_runner(expiry_config expiry, retention_config retention, std::string url,
                                       report_sink sink)
    : expiry_(std::move(expiry)), retention_(std::move(retention)), url_(std::move(url)), sink_(std::move(sink)) {}

leader_jobs_runner::~leader_jobs_runner() { stop(); }

/// When each job runs next, and whether this instance led at its last run.
struct leader_jobs_runner::schedule {
  background_loop::clock::time_point expiry{};
  background_loop::clock::time_point retention{};
  bool was_leader = false;
};

void leader_jobs_runner::start() {
  auto [expiry, retention] = loop_.with_lock([this] {
    changed_ = false;
    return std::pair{expiry_, retention_};
  });
  auto jobs = std::make_shared<leader_jobs>(expiry, retention, url_, sink_);
  auto next = std::make_shared<schedule>();
  loop_.start([this, jobs, next] { return round(*jobs, *next); });
}

void leader_jobs_runner::stop() { loop_.stop(); }

void leader_jobs_runner::set_config(expiry_config expiry, retention_config retention) {
  loop_.change([&] {
    expiry_ = std::move(expiry);
    retention_ = std::move(retention);
    changed_ = true;
  });
}

background_loop::clock::time_point leader_jobs_runner::round(leader_jobs& jobs, schedule& next) {
  using clock = background_loop::clock;
  auto [expiry, retention] = loop_.with_lock([&] {
    if (changed_) {
      jobs.set_config(expiry_, retention_);
      changed_ = false;
    }
    return std::pair{expiry_, retention_};
  });
  auto note_leader = [&next](bool leader) {
    if (leader != next.was_leader) {
      spdlog::info("status jobs: {} the leader for expiry and retention", leader ? "became" : "is no longer");
    }
    next.was_leader = leader;
  };
  const bool expiry_on = !expiry.rules.empty();
  const bool retention_on = retention.events_after || retention.sms_logs_after;
  auto now = clock::now();
  if (expiry_on && now >= next.expiry) {
    try {
      auto r = jobs.expire_once();
      note_leader(r.leader);
      for (const auto& [rule, n] : r.by_rule) spdlog::info("expiry: rule {} expired {} pending message(s)", rule, n);
    } catch (const std::exception& e) {
      note_leader(false);
      spdlog::warn("expiry: run failed: {}; retrying at the next interval", e.what());
    }
    next.expiry = clock::now() + expiry.interval;
  }
  if (retention_on && now >= next.retention) {
    next.retention = clock::now() + retention.interval;
    try {
      auto r = jobs.retain_once();
      note_leader(r.leader);
      if (r.events_deleted + r.sms_logs_deleted > 0) {
        spdlog::info("retention: deleted {} dlr_events and {} sms_logs row(s)", r.events_deleted, r.sms_logs_deleted);
      }
      // A full batch means a backlog: go on at once (the wait still lets stop() in).
      if (r.events_deleted >= retention.batch || r.sms_logs_deleted >= retention.batch) next.retention = clock::now();
    } catch (const std::exception& e) {
      note_leader(false);
      spdlog::warn("retention: run failed: {}; retrying at the next interval", e.what());
    }
  }
  auto until = clock::now() + std::chrono::minutes(1);
  if (expiry_on) until = std::min(until, next.expiry);
  if (retention_on) until = std::min(until, next.retention);
  return until;
}

}  // namespace dlrd::status
