// Renders message states as the status API answers them.
#include "messages.hpp"

namespace dlrd::status {

namespace {

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

nlohmann::ordered_json to_json(const message_state& m) {
  // Key order is fixed (message_id, status, final, retryable first) so that a shell script
  // can read the first fields without a JSON parser.
  nlohmann::ordered_json j;
  j["message_id"] = m.message_id;
  j["status"] = or_null(m.status);
  j["final"] = is_final(m.status);
  j["retryable"] = is_retryable(m.status);
  j["raw_status"] = or_null(m.raw_status);
  // "policy": dlrd's expiry rule gave up on it, the carrier has said nothing final (retryable).
  j["expired_by"] = or_null(m.expired_by);
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
    e["carrier_time"] = or_null(h.carrier_time);
    history.push_back(std::move(e));
  }
  j["history"] = std::move(history);
  return j;
}

}  // namespace dlrd::status
