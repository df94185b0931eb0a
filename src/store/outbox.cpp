// Claims failure notices from dlr_alert_outbox per sink and records each sink's delivery outcome.
#include <dlrd/store/outbox.hpp>

#include "pg.hpp"

#include <optional>

namespace dlrd::store {

namespace {

constexpr const char* ensure_cursor = "INSERT INTO dlr_alert_cursor (sink) VALUES ($1) ON CONFLICT DO NOTHING";

// Serialises claims of new notices per sink across every dlrd instance. The horizon bounds
// the cursor: every transaction below it has finished, so no notice can still appear behind
// it (ids are taken before commit and become visible out of order). Only transactions of
// this database can write the outbox, so the oldest one still running here is the horizon
// (the cluster-wide snapshot xmin would let any long transaction in another database hold
// notices back); with none running, the snapshot's xmax. A transaction that ends between
// the snapshot and the pg_stat_activity read has committed before the claim statement's
// own snapshot, so the claim sees its rows.
constexpr const char* lock_cursor = R"sql(
SELECT upto_txid, upto_id,
       coalesce((SELECT min(x::text::bigint)
                   FROM pg_snapshot_xip(pg_current_snapshot()) AS x
                   JOIN pg_stat_activity a ON a.backend_xid = xid(x)
                  WHERE a.datname = current_database()),
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
  FROM dlr_alert_cursor WHERE sink = $1 FOR UPDATE)sql";

constexpr const char* claim_new = R"sql(
WITH picked AS (
  SELECT id, txid, created_at < now() - $5 * interval '1 millisecond' AS stale
    FROM dlr_alert_outbox
   WHERE (txid, id) > ($2, $3) AND txid < $4
   ORDER BY txid, id
   LIMIT $6
), ins AS (
  INSERT INTO dlr_alert_delivery (notice_id, sink, attempts, next_attempt_at, dropped_reason)
  SELECT id, $1, CASE WHEN stale THEN 0 ELSE 1 END,
         CASE WHEN stale THEN NULL ELSE now() + $7 * interval '1 millisecond' END,
         CASE WHEN stale THEN 'stale' END
    FROM picked
  ON CONFLICT DO NOTHING
  RETURNING notice_id, dropped_reason IS NOT NULL AS stale
), cur AS (
  UPDATE dlr_alert_cursor c SET upto_txid = last.txid, upto_id = last.id, updated_at = now()
    FROM (SELECT txid, id FROM picked ORDER BY txid DESC, id DESC LIMIT 1) AS last
   WHERE c.sink = $1
)
SELECT notice_id, stale FROM ins)sql";

constexpr const char* claim_retries = R"sql(
WITH due AS (
  SELECT d.notice_id, o.created_at < now() - $2 * interval '1 millisecond' AS stale
    FROM dlr_alert_delivery d JOIN dlr_alert_outbox o ON o.id = d.notice_id
   WHERE d.sink = $1 AND d.sent_at IS NULL AND d.dropped_reason IS NULL AND d.next_attempt_at <= now()
   ORDER BY d.next_attempt_at
   LIMIT $3
   FOR UPDATE OF d SKIP LOCKED
)
UPDATE dlr_alert_delivery d
   SET attempts = d.attempts + CASE WHEN due.stale THEN 0 ELSE 1 END,
       next_attempt_at = CASE WHEN due.stale THEN NULL ELSE now() + $4 * interval '1 millisecond' END,
       dropped_reason = CASE WHEN due.stale THEN 'stale' END
  FROM due
 WHERE d.notice_id = due.notice_id AND d.sink = $1
RETURNING d.notice_id, due.stale)sql";

constexpr const char* fetch_notices = R"sql(
SELECT o.id, o.kind, coalesce(o.message_id, ''), coalesce(o.status, ''), coalesce(o.raw_status, ''),
       o.error_code, o.recipient, o.sender, o.country, coalesce(o.provider, ''),
       coalesce(to_char(o.status_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), d.attempts,
       coalesce(o.details::text, '')
  FROM dlr_alert_outbox o JOIN dlr_alert_delivery d ON d.notice_id = o.id AND d.sink = $1
 WHERE o.id = ANY($2::bigint[])
 ORDER BY o.txid, o.id)sql";

// Both counts read through an index: notices past the sink's cursor through
// dlr_alert_outbox_txid_id, open deliveries through dlr_alert_delivery_due (sql/0006).
constexpr const char* count_backlog = R"sql(
SELECT s.sink,
       (SELECT count(*) FROM dlr_alert_outbox o
         WHERE (o.txid, o.id) > (coalesce(c.upto_txid, 0), coalesce(c.upto_id, 0)))
     + (SELECT count(*) FROM dlr_alert_delivery d
         WHERE d.sink = s.sink AND d.sent_at IS NULL AND d.dropped_reason IS NULL)
  FROM unnest($1::text[]) WITH ORDINALITY AS s(sink, n)
  LEFT JOIN dlr_alert_cursor c ON c.sink = s.sink
 ORDER BY s.n)sql";

std::string array_literal(std::span<const std::int64_t> ids) {
  std::string s = "{";
  for (auto id : ids) {
    if (s.size() > 1) s += ',';
    s += std::to_string(id);
  }
  return s + "}";
}

std::optional<std::string> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

}  // namespace

struct outbox::impl {
  explicit impl(const database_config& db) : conn(connection_string(db), {"SET statement_timeout = '30s'"}) {}
  connection conn;

  // Runs `f` in one transaction under store's retry policy: a broken connection is remade
  // and the call run again; a claim whose commit is in doubt is not (its leases expire).
  template <typename F>
  auto run(F&& f) {
    return with_retry(conn, retry_policy{}, [&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto out = f(tx);
      tx.commit();
      return out;
    });
  }
};

outbox::outbox(database_config db) : impl_(std::make_unique<impl>(db)) {}
outbox::~outbox() = default;

claim_result outbox::claim(const std::string& sink, std::size_t limit, std::chrono::milliseconds max_age,
                           std::chrono::milliseconds lease) {
  return impl_->run([&](pqxx::work& tx) {
    claim_result out;
    std::vector<std::int64_t> ids;
    auto take = [&](const pqxx::result& rows) {
      for (const auto& r : rows) {
        if (r[1].as<bool>()) ++out.dropped_stale;
        else ids.push_back(r[0].as<std::int64_t>());
      }
    };
    tx.exec_params(ensure_cursor, sink);
    auto cur = tx.exec_params1(lock_cursor, sink);
    take(tx.exec_params(claim_new, sink, cur[0].as<std::int64_t>(), cur[1].as<std::int64_t>(),
                        cur[2].as<std::int64_t>(), max_age.count(), limit, lease.count()));
    std::size_t taken = ids.size() + out.dropped_stale;
    if (taken < limit) take(tx.exec_params(claim_retries, sink, max_age.count(), limit - taken, lease.count()));
    if (ids.empty()) return out;
    for (const auto& r : tx.exec_params(fetch_notices, sink, array_literal(ids))) {
      notice n;
      n.id = r[0].as<std::int64_t>();
      n.kind = r[1].as<std::string>();
      n.message_id = r[2].as<std::string>();
      n.status = r[3].as<std::string>();
      n.raw_status = r[4].as<std::string>();
      n.error_code = opt(r[5]);
      n.recipient = opt(r[6]);
      n.sender = opt(r[7]);
      n.country = opt(r[8]);
      n.provider = r[9].as<std::string>();
      n.status_at = r[10].as<std::string>();
      n.noticed_at = r[11].as<std::string>();
      n.attempts = r[12].as<int>();
      n.details = r[13].as<std::string>();
      out.notices.push_back(std::move(n));
    }
    return out;
  });
}

void outbox::mark_sent(const std::string& sink, std::span<const std::int64_t> ids, bool digested) {
  if (ids.empty()) return;
  impl_->run([&](pqxx::work& tx) {
    tx.exec_params("UPDATE dlr_alert_delivery SET sent_at = now(), next_attempt_at = NULL, digested = $3 "
                   "WHERE sink = $1 AND notice_id = ANY($2::bigint[])",
                   sink, array_literal(ids), digested);
    return 0;
  });
}

void outbox::mark_failed(const std::string& sink, std::span<const retry_at> retries, const std::string& error) {
  if (retries.empty()) return;
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> delays;
  for (const auto& r : retries) {
    ids.push_back(r.notice_id);
    delays.push_back(r.delay.count());
  }
  impl_->run([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE dlr_alert_delivery d SET next_attempt_at = now() + r.delay_ms * interval '1 millisecond', "
        "last_error = $4 "
        "FROM unnest($2::bigint[], $3::bigint[]) AS r(notice_id, delay_ms) "
        "WHERE d.sink = $1 AND d.notice_id = r.notice_id AND d.sent_at IS NULL",
        sink, array_literal(ids), array_literal(delays), error);
    return 0;
  });
}

void outbox::mark_dropped(const std::string& sink, std::span<const std::int64_t> ids, const std::string& reason) {
  if (ids.empty()) return;
  impl_->run([&](pqxx::work& tx) {
    tx.exec_params("UPDATE dlr_alert_delivery SET dropped_reason = $3, next_attempt_at = NULL "
                   "WHERE sink = $1 AND notice_id = ANY($2::bigint[]) AND sent_at IS NULL",
                   sink, array_literal(ids), reason);
    return 0;
  });
}

std::vector<sink_backlog> outbox_backlog(connection& db, const std::vector<std::string>& sinks) {
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    std::vector<sink_backlog> out;
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec_params(count_backlog, pg_array(sinks))) {
      out.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>()});
    }
    tx.commit();
    return out;
  });
}

}  // namespace dlrd::store
