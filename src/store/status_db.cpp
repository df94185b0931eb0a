// The status API's statements: message states in one round trip per table, sends, waiters.
#include <dlrd/store/status_db.hpp>

#include "pg.hpp"

#include <nlohmann/json.hpp>

namespace dlrd::store {

namespace {

// RFC 3339 in UTC with milliseconds, or NULL.
#define DLRD_UTC(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

std::optional<std::string> text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

std::vector<std::string> tags_of(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  auto tags = nlohmann::json::parse(f.as<std::string>(), nullptr, false);
  if (!tags.is_array()) return out;
  for (const auto& t : tags) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

message_state state_of(const pqxx::row& row) {
  message_state m;
  m.message_id = row[0].as<std::string>();
  m.status = text(row[1]);
  m.raw_status = text(row[2]);
  m.status_at = text(row[3]);
  m.delivered_at = text(row[4]);
  m.error_code = text(row[5]);
  m.recipient = text(row[6]);
  m.sender = text(row[7]);
  m.country = text(row[8]);
  m.provider = text(row[9]);
  if (!row[10].is_null()) m.parts = row[10].as<int>();
  m.cost = text(row[11]);
  m.tags = tags_of(row[12]);
  m.sent_at = text(row[13]);
  m.updated_at = text(row[14]);
  m.text_preview = text(row[15]);
  m.expired_by = text(row[16]);
  return m;
}

/// With `lock`, the rows are read FOR SHARE in byte order of message_id, the writers' lock order.
message_states read_states(pqxx::transaction_base& tx, const std::vector<std::string>& ids,
                           std::size_t history_limit, bool lock = false) {
  message_states out;
  if (ids.empty()) return out;
  const auto array = pg_array(ids);
  std::string sql =
      "SELECT message_id, status, raw_status, " DLRD_UTC("status_at") ", " DLRD_UTC("delivered_at") ", error_code, "
      "to_number, from_number, country_code, provider, parts, cost_eur::text, array_to_json(tags)::text, "
      DLRD_UTC("sent_at") ", " DLRD_UTC("updated_at") ", text_preview, expired_by FROM sms_logs "
      "WHERE message_id = ANY($1::text[])";
  if (lock) sql += " ORDER BY message_id COLLATE \"C\" FOR SHARE";
  for (const auto& row : tx.exec_params(sql, array)) {
    auto m = state_of(row);
    out.emplace(m.message_id, std::move(m));
  }
  if (out.empty() || history_limit == 0) return out;
  auto history = tx.exec_params(
      "SELECT h.message_id, h.status, h.raw_status, " DLRD_UTC("h.event_at") ", " DLRD_UTC("h.received_at") ", "
      "h.provider, h.error_code, h.carrier_time FROM unnest($1::text[]) AS i(id) CROSS JOIN LATERAL ("
      "  SELECT e.* FROM dlr_events e WHERE e.message_id = i.id ORDER BY e.event_at DESC, e.id DESC LIMIT $2"
      ") h ORDER BY h.message_id, h.event_at, h.id",
      array, static_cast<std::int64_t>(history_limit));
  for (const auto& row : history) {
    auto it = out.find(row[0].as<std::string>());
    if (it == out.end()) continue;
    it->second.history.push_back(history_entry{row[1].as<std::string>(), text(row[2]), text(row[3]), text(row[4]),
                                               text(row[5]), text(row[6]), text(row[7])});
  }
  return out;
}

std::optional<std::string> array_param(const std::optional<std::vector<std::string>>& v) {
  if (!v) return std::nullopt;
  return pg_array(*v);
}

}  // namespace

message_states read_messages(connection& db, const std::vector<std::string>& ids, std::size_t history_limit) {
  if (ids.empty()) return {};
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return read_states(tx, ids, history_limit);
  });
}

message_states register_waiters(connection& db, const std::vector<std::string>& ids, std::chrono::milliseconds ttl,
                                std::size_t history_limit) {
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO dlr_status_waiters AS w (message_id, expires_at) "
        "SELECT id, clock_timestamp() + $2 * interval '1 millisecond' FROM unnest($1::text[]) AS i(id) "
        "ORDER BY id COLLATE \"C\" "
        "ON CONFLICT (message_id) DO UPDATE SET expires_at = excluded.expires_at "
        "WHERE w.expires_at < excluded.expires_at",
        pg_array(ids), static_cast<std::int64_t>(ttl.count()));
    auto states = read_states(tx, ids, history_limit, true);
    tx.commit();
    return states;
  });
}

message_states read_unregistered_rows(connection& db, const std::vector<std::string>& ids,
                                      std::size_t history_limit) {
  if (ids.empty()) return {};
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    // Exclusive: granted once every writer holding it shared (past its look at the
    // registrations) has committed; the read after it takes a fresh snapshot.
    tx.exec1("SELECT pg_advisory_xact_lock('dlr_status_waiters'::regclass::oid::bigint)");
    return read_states(tx, ids, history_limit);
  });
}

message_state log_send(connection& db, const send_record& s, std::size_t history_limit) {
  const auto tags = array_param(s.tags);
  const auto part_ids = array_param(s.part_ids);
  return with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params("SELECT dlr_log_send($1, $2, $3, $4, $5::timestamptz, $6::int, $7::numeric, $8, $9::text[], $10)",
                   s.message_id, param(s.to), param(s.from), param(s.text), param(s.sent_at), param(s.parts),
                   param(s.cost), param(s.country), param(tags), param(s.provider));
    if (part_ids) tx.exec_params("SELECT dlr_log_parts($1, $2::text[])", s.message_id, *part_ids);
    auto states = read_states(tx, {s.message_id}, history_limit);
    tx.commit();
    return std::move(states.at(s.message_id));
  });
}

void purge_waiters(connection& db) {
  with_retry(db, retry_policy{}, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec0("DELETE FROM dlr_status_waiters WHERE expires_at < clock_timestamp()");
    tx.commit();
    return 0;
  });
}

}  // namespace dlrd::store
