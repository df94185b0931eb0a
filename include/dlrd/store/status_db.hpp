// What the status API reads and writes: message states (sms_logs + dlr_events history), sends
// logged through dlr_log_send, and long-poll registrations in dlr_status_waiters.
#pragma once

#include <dlrd/store/connection.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::store {

/// One dlr_events row of a message; times are RFC 3339 UTC with milliseconds.
struct history_entry {
  std::string status;
  std::optional<std::string> raw_status, event_at, received_at, provider, error_code;
  std::optional<std::string> carrier_time;  ///< the gateway's zone-less carrier time, verbatim (sql/0016)
};

/// One sms_logs row and its newest reports (oldest first).
struct message_state {
  std::string message_id;
  std::optional<std::string> status, raw_status, status_at, delivered_at, error_code, recipient, sender, country,
      provider, cost, sent_at, updated_at, text_preview;
  std::optional<std::string> expired_by;  ///< "policy" when an expiry rule set the status (sql/0014)
  std::optional<int> parts;
  std::vector<std::string> tags;
  std::vector<history_entry> history;
};

using message_states = std::map<std::string, message_state>;

/// A send as an application logs it (POST /v1/messages), already checked: the send-side
/// columns only, never delivery state.
struct send_record {
  std::string message_id;
  std::optional<std::string> to, from, text, sent_at, parts, cost, country, provider;
  std::optional<std::vector<std::string>> tags;
  /// The gateway's ids of the message's parts, in order (sql/0010); absent: none logged.
  std::optional<std::vector<std::string>> part_ids;
};

// Each call runs one transaction under the default retry_policy (retry.hpp) and throws
// database_error when it gives up. Not thread-safe on one connection.

/// The rows of `ids` that exist, with their newest `history_limit` reports. Read-only.
message_states read_messages(connection& db, const std::vector<std::string>& ids, std::size_t history_limit);

/// Registers `ids` in dlr_status_waiters until `ttl` from now (a registration is only ever
/// extended), then reads their rows FOR SHARE in byte order of message_id, the writers' lock
/// order, in the same transaction: a commit that moves one of them afterwards sees the
/// registration and notifies (sql/0008 says why nothing is lost). Replaying it is harmless.
message_states register_waiters(connection& db, const std::vector<std::string>& ids, std::chrono::milliseconds ttl,
                                std::size_t history_limit);

/// Reads `ids` again after their registrations (register_waiters) have committed and found
/// no row for them: first waits for every writer that may have looked for registrations
/// before those committed (the lock sql/functions/dlr_status_wake.sql takes), so that a row
/// such a writer inserted is read here, and a later writer's commit notifies.
message_states read_unregistered_rows(connection& db, const std::vector<std::string>& ids, std::size_t history_limit);

/// Logs `send` through dlr_log_send (and its parts through dlr_log_parts), idempotent on
/// message_id, and returns the message's state as committed.
message_state log_send(connection& db, const send_record& send, std::size_t history_limit);

/// Deletes the registrations whose time is up.
void purge_waiters(connection& db);

}  // namespace dlrd::store
