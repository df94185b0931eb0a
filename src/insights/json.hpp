// The stats structs as nlohmann::ordered_json values, shared by to_json and `dlrd report --format json`.
#pragma once

#include <dlrd/insights/stats.hpp>

#include <nlohmann/json.hpp>

namespace dlrd::insights {

nlohmann::ordered_json json_of(const daily_stats& s);
nlohmann::ordered_json json_of(const breakdown_stats& s);
nlohmann::ordered_json json_of(const coverage_stats& s);
nlohmann::ordered_json json_of(const latency_stats& s);
nlohmann::ordered_json json_of(const error_code_stats& s);
nlohmann::ordered_json json_of(const rules_stats& s);

/// The JSON member that lists a breakdown's rows: "countries", "providers" or "senders".
std::string_view rows_member(breakdown_by by);

}  // namespace dlrd::insights
