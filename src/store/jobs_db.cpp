// Expiry's pending-message search and retention's bounded deletes.
#include <dlrd/store/jobs_db.hpp>

#include "pg.hpp"

namespace dlrd::store {

namespace {

pending_message pending_of(const pqxx::row& row) {
  pending_message m;
  m.message_id = row[0].as<std::string>();
  if (!row[1].is_null()) m.recipient = row[1].as<std::string>();
  if (!row[2].is_null()) m.sender = row[2].as<std::string>();
  m.sent_at = report::time_point(std::chrono::microseconds(row[3].as<std::int64_t>()));
  return m;
}

std::size_t delete_counted(connection& db, const char* sql, std::chrono::milliseconds age, std::size_t limit) {
  return with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto n = tx.exec_params1(sql, static_cast<std::int64_t>(age.count()), static_cast<std::int64_t>(limit))[0]
                 .as<std::size_t>();
    tx.commit();
    return n;
  });
}

}  // namespace

std::vector<std::vector<pending_message>> find_pending(connection& db, const std::vector<pending_filter>& filters,
                                                       std::size_t limit) {
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    std::vector<std::vector<pending_message>> out;
    std::vector<std::string> taken;
    pqxx::read_transaction tx(c);
    for (const auto& f : filters) {
      auto& list = out.emplace_back();
      if (taken.size() >= limit) continue;
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
          static_cast<std::int64_t>(f.after.count()), param(f.tag), param(f.sender), param(f.recipient_prefix),
          param(f.provider), pg_array(taken), static_cast<std::int64_t>(limit - taken.size()));
      for (const auto& row : rows) {
        list.push_back(pending_of(row));
        taken.push_back(list.back().message_id);
      }
    }
    tx.commit();
    return out;
  });
}

std::size_t delete_old_events(connection& db, std::chrono::milliseconds age, std::size_t limit) {
  // The daily partitions go whole (partitions.hpp); only the default one holds rows to pick.
  return delete_counted(db,
                        "WITH d AS (DELETE FROM dlr_events_default WHERE id IN ("
                        "  SELECT id FROM dlr_events_default WHERE stored_at < now() - $1::bigint * interval "
                        "'1 millisecond' LIMIT $2) RETURNING 1) SELECT count(*) FROM d",
                        age, limit);
}

std::size_t delete_old_final_messages(connection& db, std::chrono::milliseconds age, std::size_t limit) {
  // Final rows only; the predicate repeats idx_sms_logs_final_status_at's (sql/0007).
  return delete_counted(db,
                        "WITH d AS (DELETE FROM sms_logs WHERE id IN ("
                        "  SELECT id FROM sms_logs WHERE status IN ('delivered', 'undelivered', 'rejected', 'expired') "
                        "  AND status_at < now() - $1::bigint * interval '1 millisecond' LIMIT $2) RETURNING 1) "
                        "SELECT count(*) FROM d",
                        age, limit);
}

std::size_t delete_old_notices(connection& db, std::chrono::milliseconds age, std::size_t limit) {
  // Oldest first by the primary key: ids follow creation closely enough that the scan stops
  // after `limit` matches instead of reading the whole outbox (there is no created_at index).
  return delete_counted(db,
                        "WITH d AS (DELETE FROM dlr_alert_outbox WHERE id IN ("
                        "  SELECT o.id FROM dlr_alert_outbox o WHERE o.created_at < now() - $1::bigint * interval "
                        "'1 millisecond' AND NOT EXISTS (SELECT 1 FROM dlr_alert_delivery d WHERE d.notice_id = o.id "
                        "  AND d.sent_at IS NULL AND d.dropped_reason IS NULL) ORDER BY o.id LIMIT $2) RETURNING 1) "
                        "SELECT count(*) FROM d",
                        age, limit);
}

}  // namespace dlrd::store
