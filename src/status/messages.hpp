// A message's state as the status API reads and renders it (sms_logs row + dlr_events history).
#pragma once

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::status {

struct history_entry {
  std::string status;
  std::optional<std::string> raw_status, event_at, received_at, provider, error_code;
};

struct message_state {
  std::string message_id;
  std::optional<std::string> status, raw_status, status_at, delivered_at, error_code, recipient, sender, country,
      provider, cost, sent_at, updated_at, text_preview;
  std::optional<int> parts;
  std::vector<std::string> tags;
  std::vector<history_entry> history;
};

/// delivered, undelivered, rejected, expired (dlr_status_class > 0).
bool is_final(const std::optional<std::string>& status);
/// undelivered and expired: worth sending again; rejected and delivered are not.
bool is_retryable(const std::optional<std::string>& status);

/// A text[] literal for `values` (every element quoted).
std::string pg_array(const std::vector<std::string>& values);

/// The rows of `ids` that exist, with their newest `history_limit` reports (oldest first).
/// With `lock`, the rows are read FOR SHARE in byte order of message_id, the writers' lock order.
std::map<std::string, message_state> read_states(pqxx::transaction_base& tx, const std::vector<std::string>& ids,
                                                 std::size_t history_limit, bool lock = false);

nlohmann::ordered_json to_json(const message_state& m);

}  // namespace dlrd::status
