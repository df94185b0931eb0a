// What the leader-only status jobs read and delete: pending messages past an expiry rule's
// age, and old rows for retention.
#pragma once

#include <dlrd/report/report.hpp>
#include <dlrd/store/connection.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::store {

/// Which pending messages one expiry rule takes: logged (or first seen) more than `after`
/// ago, and matching every filter that is set.
struct pending_filter {
  std::chrono::milliseconds after{0};
  std::optional<std::string> tag, sender, recipient_prefix, provider;
};

/// A pending message an expiry rule took.
struct pending_message {
  std::string message_id;
  std::optional<std::string> recipient, sender;
  report::time_point sent_at;  ///< sent_at, or created_at when the send was never logged
};

/// For each filter in order, the oldest pending messages it matches that no earlier filter
/// took, at most `limit` in all (one read-only transaction; the result has one list per
/// filter). Throws database_error.
std::vector<std::vector<pending_message>> find_pending(connection& db, const std::vector<pending_filter>& filters,
                                                       std::size_t limit);

/// Deletes at most `limit` rows of dlr_events' default partition (reports dated where no daily
/// partition exists, sql/0015) stored more than `age` ago; returns how many.
std::size_t delete_old_events(connection& db, std::chrono::milliseconds age, std::size_t limit);

/// Deletes at most `limit` final sms_logs rows whose status is older than `age`; returns how many.
std::size_t delete_old_final_messages(connection& db, std::chrono::milliseconds age, std::size_t limit);

/// Deletes at most `limit` alert notices (dlr_alert_outbox, their per-sink delivery rows with
/// them) written more than `age` ago that no sink still owes: every delivery row is sent or
/// dropped. A notice a sink has not claimed yet is older than alerts.max_age (the config
/// refuses a shorter `age`), so a claim would drop it as stale. Returns how many.
std::size_t delete_old_notices(connection& db, std::chrono::milliseconds age, std::size_t limit);

}  // namespace dlrd::store
