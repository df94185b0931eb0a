// Deliverability figures read from sms_logs through the dlr_stats_* functions of
// sql/0009_insights.sql, as plain structs (the stats API, the dashboard and `dlrd report`).
#pragma once

#include <dlrd/report/report.hpp>
#include <dlrd/store/connection.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::store {

/// The longest range any query reads, and the most days of the daily series.
inline constexpr int max_days = 366;

/// A range of send times as a client asks for it: `since` an instant or a duration back
/// from `until`; `until` an instant or, absent, the database's now().
struct window_spec {
  std::optional<report::time_point> since_at;
  std::chrono::seconds since_ago{std::chrono::hours(24 * 7)};
  std::optional<report::time_point> until_at;
};

/// The half-open range [since, until) that was read, as the database resolved it
/// (RFC 3339, UTC, microseconds).
struct window {
  std::string since;
  std::string until;
};

/// One UTC day of dlr_stats_daily. Rates are shares of final messages; absent without any.
struct daily_row {
  std::string day;  ///< YYYY-MM-DD
  std::int64_t total = 0;
  std::int64_t delivered = 0;
  std::int64_t failed = 0;  ///< undelivered + rejected + expired
  std::int64_t pending = 0;
  std::optional<double> delivery_rate;
  std::optional<double> failure_rate;
};

struct daily_stats {
  std::string from;  ///< first day, YYYY-MM-DD
  std::string to;    ///< last day (today, UTC)
  std::vector<daily_row> days;  ///< every day from `from` to `to`, empty days included
};

enum class breakdown_by { country, provider, sender };
/// "country", "provider" or "sender".
std::string_view to_string(breakdown_by by);

/// One group of dlr_stats_breakdown.
struct breakdown_row {
  std::optional<std::string> key;  ///< absent: messages without a country/provider/sender
  std::int64_t total = 0;
  std::int64_t delivered = 0;
  std::int64_t undelivered = 0;
  std::int64_t rejected = 0;
  std::int64_t expired = 0;
  std::int64_t failed = 0;
  std::int64_t pending = 0;
  std::optional<double> delivery_rate;
  std::optional<double> failure_rate;
  std::optional<double> reject_share;  ///< rejected / final
};

struct breakdown_stats {
  breakdown_by by = breakdown_by::country;
  window range;
  std::vector<breakdown_row> rows;  ///< worst failure rate first; groups without finals last
};

/// One group (a country, provider or sender) of dlr_stats_coverage.
struct coverage_row {
  std::optional<std::string> key;  ///< absent: messages without a country/provider/sender
  std::int64_t total = 0;    ///< sent in the window at least `after` ago
  std::int64_t pending = 0;  ///< of those, still pending-like
  double pending_share = 0;
  bool all_pending = false;  ///< a market whose gateway never reports
};

struct coverage_stats {
  breakdown_by by = breakdown_by::country;
  std::chrono::seconds after{0};
  window range;
  std::vector<coverage_row> rows;  ///< worst coverage first
};

/// One country of dlr_stats_latency: seconds from send to delivery.
struct latency_row {
  std::optional<std::string> country;
  std::int64_t delivered = 0;
  double p50_seconds = 0;
  double p90_seconds = 0;
  double p99_seconds = 0;
};

struct latency_stats {
  window range;
  std::vector<latency_row> rows;  ///< slowest p90 first
};

/// One error code of dlr_stats_error_codes.
struct error_code_row {
  std::optional<std::string> country;
  std::string status;                     ///< undelivered, rejected or expired
  std::optional<std::string> error_code;  ///< absent: reports without a code
  std::int64_t messages = 0;
  double share = 0;  ///< of this country's messages in this status
  std::int64_t rank = 0;  ///< 1 = most frequent
};

struct error_code_stats {
  int top = 5;
  window range;
  std::vector<error_code_row> rows;  ///< by country, status, rank
};

/// One rate rule group firing now (a row of the dlr_stats_firing_rules view).
struct firing_row {
  std::string rule;
  std::string group_key;
  std::string since;  ///< RFC 3339, UTC, microseconds; empty when unknown
  double last_share = 0;
  std::int64_t last_failed = 0;
  std::int64_t last_total = 0;
};

/// Rate rule groups firing now, by rule and group.
struct rules_stats {
  std::vector<firing_row> firing;
};

// Each query runs in its own read-only transaction with a statement timeout
// (`query_timeout`), under the default retry_policy (retry.hpp), and throws database_error
// (kind timed_out past the timeout). Not thread-safe on one connection.

inline constexpr std::chrono::seconds query_timeout{30};

/// The last `days` UTC days up to today (1..max_days; std::invalid_argument otherwise).
daily_stats query_daily(connection& db, int days);
breakdown_stats query_breakdown(connection& db, breakdown_by by, const window_spec& w);
/// Coverage of the messages sent in `w` at least `after` ago, per group `by`.
coverage_stats query_coverage(connection& db, std::chrono::seconds after, const window_spec& w,
                              breakdown_by by = breakdown_by::country);
latency_stats query_latency(connection& db, const window_spec& w);
/// The `top` most frequent error codes per country and failed status.
error_code_stats query_error_codes(connection& db, const window_spec& w, int top);
rules_stats query_rules(connection& db);

}  // namespace dlrd::store
