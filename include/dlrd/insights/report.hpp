// `dlrd report`: the stats API's figures over the last N days as terminal tables, CSV or JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::insights {

enum class report_format { table, csv, json };

/// "table", "csv" or "json".
std::optional<report_format> parse_report_format(std::string_view text);

/// Reads the database at `url` (a libpq connection string) and renders, for messages sent in
/// the last `days` days (1..366): the daily series, countries, providers, senders (with
/// their reject share), DLR coverage after 24 h, send-to-deliver latency, the top 5 error
/// codes and the rate rules firing now. The figures are those of the stats API for
/// days=N and since=Nd. `json` is one object whose members are the API's bodies
/// ({"days": N, "daily": ..., "countries": ..., "providers": ..., "senders": ...,
/// "coverage": ..., "latency": ..., "errors": ..., "rules": ...}); `csv` is one block per
/// section (its header row starts with "section"), separated by empty lines.
/// Throws std::invalid_argument for `days` out of range and store::database_error for the database.
std::string render_report(const std::string& url, int days, report_format format);

}  // namespace dlrd::insights
