// Reads message states (sms_logs + dlr_events) in one round trip per table, and renders them.
#include "messages.hpp"

namespace dlrd::status {

namespace {

// RFC 3339 in UTC with milliseconds, or NULL.
#define DLRD_UTC(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

std::optional<std::string> text(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

nlohmann::ordered_json or_null(const std::optional<std::string>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

}  // namespace

bool is_final(const std::optional<std::string>& status) {
  return status && (*status == "delivered" || *status == "undelivered" || *status == "rejected" ||
                    *status == "expired");
}

bool is_retryable(const std::optional<std::string>& status) {
  return status && (*status == "undelivered" || *status == "expired");
}

std::string pg_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::map<std::string, message_state> read_states(pqxx::transaction_base& tx, const std::vector<std::string>& ids,
                                                 std::size_t history_limit, bool lock) {
  std::map<std::string, message_state> out;
  if (ids.empty()) return out;
  const auto array = pg_array(ids);
  std::string sql =
      "SELECT message_id, status, raw_status, " DLRD_UTC("status_at") ", " DLRD_UTC("delivered_at") ", error_code, "
      "to_number, from_number, country_code, provider, parts, cost_eur::text, array_to_json(tags)::text, "
      DLRD_UTC("sent_at") ", " DLRD_UTC("updated_at") ", text_preview FROM sms_logs WHERE message_id = ANY($1::text[])";
  if (lock) sql += " ORDER BY message_id COLLATE \"C\" FOR SHARE";
  for (const auto& row : tx.exec_params(sql, array)) {
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
    if (!row[12].is_null()) {
      auto tags = nlohmann::json::parse(row[12].as<std::string>(), nullptr, false);
      if (tags.is_array()) {
        for (const auto& t : tags) {
          if (t.is_string()) m.tags.push_back(t.get<std::string>());
        }
      }
    }
    m.sent_at = text(row[13]);
    m.updated_at = text(row[14]);
    m.text_preview = text(row[15]);
    out.emplace(m.message_id, std::move(m));
  }
  if (out.empty() || history_limit == 0) return out;
  auto history = tx.exec_params(
      "SELECT h.message_id, h.status, h.raw_status, " DLRD_UTC("h.event_at") ", " DLRD_UTC("h.received_at") ", "
      "h.provider, h.error_code FROM unnest($1::text[]) AS i(id) CROSS JOIN LATERAL ("
      "  SELECT e.* FROM dlr_events e WHERE e.message_id = i.id ORDER BY e.event_at DESC, e.id DESC LIMIT $2"
      ") h ORDER BY h.message_id, h.event_at, h.id",
      array, static_cast<std::int64_t>(history_limit));
  for (const auto& row : history) {
    auto it = out.find(row[0].as<std::string>());
    if (it == out.end()) continue;
    it->second.history.push_back(history_entry{row[1].as<std::string>(), text(row[2]), text(row[3]), text(row[4]),
                                               text(row[5]), text(row[6])});
  }
  return out;
}

nlohmann::ordered_json to_json(const message_state& m) {
  // Key order is fixed (message_id, status, final, retryable first) so that a shell script
  // can read the first fields without a JSON parser.
  nlohmann::ordered_json j;
  j["message_id"] = m.message_id;
  j["status"] = or_null(m.status);
  j["final"] = is_final(m.status);
  j["retryable"] = is_retryable(m.status);
  j["raw_status"] = or_null(m.raw_status);
  j["status_at"] = or_null(m.status_at);
  j["delivered_at"] = or_null(m.delivered_at);
  j["error_code"] = or_null(m.error_code);
  // The article's column names (sms_logs), so an API client and a SQL reader say the same.
  j["to_number"] = or_null(m.recipient);
  j["from_number"] = or_null(m.sender);
  j["text_preview"] = or_null(m.text_preview);
  j["country_code"] = or_null(m.country);
  j["provider"] = or_null(m.provider);
  j["parts"] = m.parts ? nlohmann::ordered_json(*m.parts) : nlohmann::ordered_json(nullptr);
  j["cost_eur"] = or_null(m.cost);
  j["tags"] = m.tags;
  j["sent_at"] = or_null(m.sent_at);
  j["updated_at"] = or_null(m.updated_at);
  auto history = nlohmann::ordered_json::array();
  for (const auto& h : m.history) {
    nlohmann::ordered_json e;
    e["status"] = h.status;
    e["raw_status"] = or_null(h.raw_status);
    e["event_at"] = or_null(h.event_at);
    e["received_at"] = or_null(h.received_at);
    e["provider"] = or_null(h.provider);
    e["error_code"] = or_null(h.error_code);
    history.push_back(std::move(e));
  }
  j["history"] = std::move(history);
  return j;
}

}  // namespace dlrd::status
