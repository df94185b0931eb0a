// dlr_quarantine read back for `dlrd quarantine list|replay`, and replayed rows marked.
#include <dlrd/store/quarantine.hpp>

#include "pg.hpp"

namespace dlrd::store {

namespace {

std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string out = "{";
  for (auto id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
  return out + "}";
}

constexpr const char* rfc3339 = R"('YYYY-MM-DD"T"HH24:MI:SS.US"Z"')";

std::vector<quarantined_row> rows_of(const pqxx::result& rows) {
  std::vector<quarantined_row> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    quarantined_row row;
    row.id = r[0].as<std::int64_t>();
    row.payload.provider = r[1].as<std::string>();
    row.payload.reason = r[2].as<std::string>();
    row.payload.field = r[3].as<std::string>();
    row.payload.content_type = r[4].as<std::string>();
    pqxx::binarystring body(r[5]);
    row.payload.body = body.str();
    row.payload.received_at = report::time_point(std::chrono::microseconds(r[6].as<std::int64_t>()));
    row.stored_at = r[7].as<std::string>();
    row.replayed_at = r[8].as<std::string>();
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace

std::vector<quarantined_row> read_quarantine(const std::string& url, const quarantine_query& q) {
  std::string sql = std::string("SELECT id, provider, reason, field, content_type, body, "
                                "(extract(epoch FROM coalesce(received_at, stored_at)) * 1000000)::bigint, "
                                "to_char(stored_at AT TIME ZONE 'UTC', ") + rfc3339 + "), "
                    "coalesce(to_char(replayed_at AT TIME ZONE 'UTC', " + rfc3339 + "), '') "
                    "FROM dlr_quarantine WHERE id > $1 AND ($2 OR replayed_at IS NULL) "
                    "AND ($3::text IS NULL OR provider = $3) "
                    "AND (cardinality($4::bigint[]) = 0 OR id = ANY ($4::bigint[])) "
                    "ORDER BY id LIMIT $5";
  const char* provider = param(q.provider);  // NULL: any provider
  connection db(url);
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return rows_of(tx.exec_params(sql, q.after_id, q.include_replayed, provider, id_array(q.ids),
                                  static_cast<std::int64_t>(q.limit)));
  });
}

std::size_t mark_replayed(const std::string& url, const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return 0;
  connection db(url);
  return with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("UPDATE dlr_quarantine SET replayed_at = now() WHERE id = ANY ($1::bigint[]) "
                            "AND replayed_at IS NULL",
                            id_array(ids));
    tx.commit();
    return static_cast<std::size_t>(r.affected_rows());
  });
}

}  // namespace dlrd::store
