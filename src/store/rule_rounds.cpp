// The rate rules' SQL: window counts, dlr_rule_state and the notices (see rule_rounds.hpp).
#include <dlrd/store/rule_rounds.hpp>

#include "pg.hpp"
#include <dlrd/store/leader.hpp>

#include <pqxx/pqxx>

namespace dlrd::store {

namespace {

/// Second key of the per-rule transaction lock; the first is "dlrd" as an int4.
constexpr int rule_xact_lock_class = 0x646c7264;

/// The SQL expression of a query's group key over sms_logs (alias-free column names).
std::string group_key_sql(const window_query& q) {
  if (q.by_country && q.by_provider) {
    return "coalesce(country_code, 'unknown') || '/' || coalesce(provider, 'unknown')";
  }
  if (q.by_country) return "coalesce(country_code, 'unknown')";
  return q.by_provider ? "coalesce(provider, 'unknown')" : "''::text";
}

/// The filters every window query applies to sms_logs.
std::string filters_sql(pqxx::transaction_base& tx, const window_query& q) {
  std::string sql;
  if (q.provider) sql += " AND provider = " + tx.quote(*q.provider);
  if (q.sender) sql += " AND from_number = " + tx.quote(*q.sender);
  return sql;
}

std::string ms_ago(std::chrono::milliseconds d) {
  return "now() - " + std::to_string(d.count()) + " * interval '1 millisecond'";
}

std::map<std::string, window_counts> count_coverage(pqxx::transaction_base& tx, const window_query& q) {
  std::map<std::string, window_counts> groups;
  // By send time, as idx_sms_logs_send_time reads (sql/0009).
  // A policy expiry (sql/0014) is dlrd giving up, not a report: still none from the carrier.
  auto sql = "SELECT " + group_key_sql(q) + ", count(*), "
             "count(*) FILTER (WHERE dlr_status_class(status) = 0 OR expired_by IS NOT NULL), "
             "count(*) FILTER (WHERE status = 'delivered') FROM sms_logs "
             "WHERE coalesce(sent_at, created_at) >= " + ms_ago(q.window) +
             " AND coalesce(sent_at, created_at) < " + ms_ago(q.grace) + filters_sql(tx, q) + " GROUP BY 1";
  for (const auto& row : tx.exec(sql)) {
    auto& g = groups[row[0].as<std::string>()];
    g.total = row[1].as<std::int64_t>();
    g.pending = row[2].as<std::int64_t>();
    g.delivered = row[3].as<std::int64_t>();
  }
  return groups;
}

std::map<std::string, window_counts> count_silence(pqxx::transaction_base& tx, const window_query& q) {
  std::map<std::string, window_counts> groups;
  // Sends the application logged (a row a report created has no sent_at) ...
  auto sends = "SELECT " + group_key_sql(q) + ", count(*) FROM sms_logs WHERE coalesce(sent_at, created_at) >= " +
               ms_ago(q.window) + " AND sent_at IS NOT NULL" + filters_sql(tx, q) + " GROUP BY 1";
  for (const auto& row : tx.exec(sends)) groups[row[0].as<std::string>()].total = row[1].as<std::int64_t>();
  // ... and the reports the writers committed, from the history (what every instance
  // agrees on); dlrd's own expiry reports are not callbacks.
  std::string reports = std::string("SELECT ") + (q.by_provider ? "provider" : "''::text") +
                        ", count(*) FROM dlr_events WHERE stored_at > " + ms_ago(q.window) + " AND provider <> 'dlrd'";
  if (q.provider) reports += " AND provider = " + tx.quote(*q.provider);
  for (const auto& row : tx.exec(reports + " GROUP BY 1")) {
    groups[row[0].as<std::string>()].reports = row[1].as<std::int64_t>();
  }
  // Sends logged without a provider cannot be matched with any provider's reports.
  if (q.by_provider) groups.erase("unknown");
  if (groups.empty() && !q.by_provider) groups.try_emplace("");  // no traffic at all is silence too
  return groups;
}

std::map<std::string, window_counts> count_finals(pqxx::transaction_base& tx, const window_query& q) {
  std::map<std::string, window_counts> groups;
  // Final reports by their time. The status predicate repeats the partial index's (sql/0007).
  // A policy expiry is no carrier outcome: left out unless the rule opts in.
  std::string failed_list;
  for (const auto& st : q.failed_statuses) {
    if (!failed_list.empty()) failed_list += ", ";
    failed_list += tx.quote(st);
  }
  if (failed_list.empty()) failed_list = "NULL";
  auto sql = "SELECT " + group_key_sql(q) + ", count(*), count(*) FILTER (WHERE status IN (" + failed_list +
             ")), count(*) FILTER (WHERE status = 'delivered') FROM sms_logs "
             "WHERE status IN ('delivered', 'undelivered', 'rejected', 'expired') AND status_at > " +
             ms_ago(q.window) + (q.include_policy_expiry ? "" : " AND expired_by IS NULL") + filters_sql(tx, q) +
             " GROUP BY 1";
  for (const auto& row : tx.exec(sql)) {
    auto& g = groups[row[0].as<std::string>()];
    g.total = row[1].as<std::int64_t>();
    g.failed = row[2].as<std::int64_t>();
    g.delivered = row[3].as<std::int64_t>();
  }
  return groups;
}

}  // namespace

struct rule_round::impl {
  impl(pqxx::connection& conn, std::string rule_name) : tx(conn), rule(std::move(rule_name)) {}
  pqxx::work tx;
  std::string rule;
};

rule_round::rule_round(std::unique_ptr<impl> p) : impl_(std::move(p)) {
  // Serializes rounds of this rule even if two sessions both believed they lead.
  impl_->tx.exec_params("SELECT pg_advisory_xact_lock($1, hashtext($2))", rule_xact_lock_class, impl_->rule);
}
rule_round::~rule_round() = default;
rule_round::rule_round(rule_round&&) noexcept = default;

std::map<std::string, bool> rule_round::state() {
  std::map<std::string, bool> firing;
  for (const auto& row :
       impl_->tx.exec_params("SELECT group_key, firing FROM dlr_rule_state WHERE rule = $1", impl_->rule)) {
    firing[row[0].as<std::string>()] = row[1].as<bool>();
  }
  return firing;
}

std::map<std::string, window_counts> rule_round::count(const window_query& q) {
  switch (q.kind) {
    case window_kind::coverage: return count_coverage(impl_->tx, q);
    case window_kind::silence: return count_silence(impl_->tx, q);
    case window_kind::finals: break;
  }
  return count_finals(impl_->tx, q);
}

void rule_round::record(const group_record& r) {
  impl_->tx.exec_params(
      "INSERT INTO dlr_rule_state AS s (rule, group_key, firing, since, last_share, last_failed, last_total, "
      "last_evaluated_at) VALUES ($1, $2, $3::boolean, CASE WHEN $3::boolean THEN now() END, "
      "CASE WHEN $6::bigint > 0 THEN $4::float8::numeric END, $5::bigint, $6::bigint, now()) "
      "ON CONFLICT (rule, group_key) DO UPDATE SET firing = excluded.firing, "
      "since = CASE WHEN NOT excluded.firing THEN NULL WHEN s.firing THEN s.since ELSE now() END, "
      "last_share = excluded.last_share, last_failed = excluded.last_failed, last_total = excluded.last_total, "
      "last_evaluated_at = excluded.last_evaluated_at",
      impl_->rule, r.group_key, r.firing, r.share, r.counted, r.total);
}

void rule_round::notify(const rule_notice& n) {
  impl_->tx.exec_params(
      "INSERT INTO dlr_alert_outbox (kind, country, provider, sender, status_at, details) "
      "VALUES ($1, NULLIF($2, ''), NULLIF($3, ''), NULLIF($4, ''), now(), $5::jsonb)",
      n.fired ? "rate_rule_fired" : "rate_rule_resolved", n.country, n.provider, n.sender, n.details_json);
}

void rule_round::commit() { impl_->tx.commit(); }

struct rule_store::impl {
  explicit impl(std::string url) : session(std::move(url), leader_lock_key) {}
  leader_session session;
};

rule_store::rule_store(std::string url) : impl_(std::make_unique<impl>(std::move(url))) {}
rule_store::~rule_store() = default;  // closing the connection releases the lock

bool rule_store::lead() { return impl_->session.lead(); }
bool rule_store::leader() const { return impl_->session.leader(); }
void rule_store::reset() { impl_->session.reset(); }

rule_round rule_store::begin(const std::string& rule) {
  return rule_round(std::make_unique<rule_round::impl>(pg(impl_->session.db()), rule));
}

std::map<std::string, std::int64_t> rule_store::firing_counts() {
  std::map<std::string, std::int64_t> out;
  pqxx::nontransaction tx(pg(impl_->session.db()));
  for (const auto& row : tx.exec("SELECT rule, count(*) FROM dlr_rule_state WHERE firing GROUP BY rule")) {
    out[row[0].as<std::string>()] = row[1].as<std::int64_t>();
  }
  return out;
}

}  // namespace dlrd::store
