// A message's state as the status API renders it (read by store: store/status_db.hpp).
#pragma once

#include <dlrd/store/status_db.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace dlrd::status {

using store::history_entry;
using store::message_state;

/// delivered, undelivered, rejected, expired (dlr_status_class > 0).
bool is_final(const std::optional<std::string>& status);
/// undelivered and expired: worth sending again; rejected and delivered are not.
bool is_retryable(const std::optional<std::string>& status);

nlohmann::ordered_json to_json(const message_state& m);

}  // namespace dlrd::status
