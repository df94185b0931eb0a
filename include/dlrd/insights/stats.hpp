// Deliverability figures (store/stats_db.hpp) as the stats API rates and renders them.
#pragma once

#include <dlrd/store/stats_db.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::insights {

/// Delivered share of final messages above which a route is healthy, and under which a
/// country needs investigating.
inline constexpr double healthy_delivery_rate = 0.95;
inline constexpr double investigate_delivery_rate = 0.85;

/// Where a delivery rate falls: "healthy" (>= 95%), "degraded" (>= 85%), "investigate"
/// (< 85%), or "no_finals" when nothing reached a final status.
std::string_view band_of(std::optional<double> delivery_rate);

// The figures and their queries live in store (the one door to PostgreSQL); the stats API,
// the dashboard and `dlrd report` know them by these names.
using store::max_days;
using store::window_spec;
using store::window;
using store::daily_row;
using store::daily_stats;
using store::breakdown_by;
using store::to_string;
using store::breakdown_row;
using store::breakdown_stats;
using store::coverage_row;
using store::coverage_stats;
using store::latency_row;
using store::latency_stats;
using store::error_code_row;
using store::error_code_stats;
using store::rules_stats;
using store::query_timeout;
using store::query_daily;
using store::query_breakdown;
using store::query_coverage;
using store::query_latency;
using store::query_error_codes;
using store::query_rules;

/// The JSON bodies of the /v1/stats/* endpoints (shapes in docs of answer_stats). Rates
/// that cannot be computed are null.
std::string to_json(const daily_stats& s);
std::string to_json(const breakdown_stats& s);
std::string to_json(const coverage_stats& s);
std::string to_json(const latency_stats& s);
std::string to_json(const error_code_stats& s);
std::string to_json(const rules_stats& s);

}  // namespace dlrd::insights
