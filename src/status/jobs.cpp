// Leader-only expiry (reports into the spool, like a gateway's) and retention (dlr_events'
// partitions made ahead and dropped whole, bounded deletes).
#include <dlrd/status/jobs.hpp>

#include <dlrd/report/time.hpp>
#include <dlrd/store/jobs_db.hpp>
#include <dlrd/store/leader.hpp>
#include <dlrd/store/partitions.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

namespace dlrd::status {

namespace {

using std::chrono::milliseconds;

store::pending_filter filter_of(const expiry_rule& rule) {
  return store::pending_filter{rule.after, rule.tag, rule.sender, rule.recipient_prefix, rule.provider};
}

/// The expired report for a message `rule` took: the same for every run and every leader,
/// so a replay is deduplicated.
report::delivery_report expired_report(const expiry_rule& rule, store::pending_message m, report::time_point received) {
  report::delivery_report r;
  r.message_id = std::move(m.message_id);
  r.canonical = report::status::expired;
  r.raw_status = std::string(expiry_raw_prefix) + rule.name;
  r.event_at = m.sent_at + std::chrono::duration_cast<std::chrono::microseconds>(rule.after);
  r.event_time_from_gateway = false;
  r.received_at = received;
  r.provider = std::string(expiry_provider);
  if (m.recipient) r.recipient = std::move(*m.recipient);
  if (m.sender) r.sender = std::move(*m.sender);
  return r;
}

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
    std::vector<store::pending_filter> filters;
    for (const auto& rule : rules) filters.push_back(filter_of(rule));
    auto found = store::find_pending(session_->db(), filters, expiry_.batch);
    const auto received = report::now();
    std::vector<report::delivery_report> reports;
    std::vector<std::pair<std::string, std::size_t>> counts;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      for (auto& m : found[i]) reports.push_back(expired_report(rules[i], std::move(m), received));
      if (!found[i].empty()) counts.emplace_back(rules[i].name, found[i].size());
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
    auto made = store::make_day_partitions(session_->db());
    out.partitions_created = made.created;
    out.partitions_busy = made.busy;
    if (retention_.events_after) {
      auto gone = store::drop_expired_partitions(session_->db(), *retention_.events_after);
      out.partitions_dropped = gone.dropped;
      out.partitions_busy += gone.busy;
      out.events_deleted = store::delete_old_events(session_->db(), *retention_.events_after, retention_.batch);
    }
    if (retention_.sms_logs_after) {
      out.sms_logs_deleted =
          store::delete_old_final_messages(session_->db(), *retention_.sms_logs_after, retention_.batch);
    }
    if (retention_.notices_after) {
      out.notices_deleted = store::delete_old_notices(session_->db(), *retention_.notices_after, retention_.batch);
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
  loop_.start("dlrd-jobs", [this, jobs, next] { return round(*jobs, *next); });
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
    next.expiry = clock::now() + store::next_run_after(expiry.interval, next.was_leader);
  }
  // Retention also makes dlr_events' partitions ahead, so it runs even when nothing expires.
  if (now >= next.retention) {
    next.retention = clock::now() + retention.interval;
    try {
      auto r = jobs.retain_once();
      note_leader(r.leader);
      if (r.partitions_created + r.partitions_dropped > 0) {
        spdlog::info("retention: made {} and dropped {} dlr_events partition(s)", r.partitions_created,
                     r.partitions_dropped);
      }
      if (r.partitions_busy > 0) {
        spdlog::warn("retention: {} dlr_events partition change(s) waited {} ms for locks; the next run tries again",
                     r.partitions_busy, store::partition_lock_wait.count());
      }
      if (r.events_deleted + r.sms_logs_deleted + r.notices_deleted > 0) {
        spdlog::info("retention: deleted {} dlr_events, {} sms_logs and {} alert notice row(s)", r.events_deleted,
                     r.sms_logs_deleted, r.notices_deleted);
      }
      // A full batch means a backlog: go on at once (the wait still lets stop() in).
      if (std::max({r.events_deleted, r.sms_logs_deleted, r.notices_deleted}) >= retention.batch) {
        next.retention = clock::now();
      }
    } catch (const std::exception& e) {
      note_leader(false);
      spdlog::warn("retention: run failed: {}; retrying at the next interval", e.what());
    }
    const auto probe = clock::now() + store::next_run_after(retention.interval, next.was_leader);
    next.retention = std::min(next.retention, probe);
  }
  auto until = clock::now() + std::chrono::minutes(1);
  if (expiry_on) until = std::min(until, next.expiry);
  until = std::min(until, next.retention);
  return until;
}

}  // namespace dlrd::status
