// Timestamp parsing and formatting shared by decoders, the store and the tests.
#pragma once

#include <dlrd/report/report.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::report {

/// Parses ISO 8601 / RFC 3339 ("2024-05-01T12:00:00Z", "...+02:00", fractional
/// seconds, a space instead of 'T', no zone = UTC) and "YYYY-MM-DD HH:MM:SS".
std::optional<time_point> parse_timestamp(std::string_view text);

/// Seconds (or milliseconds, when the value is too large to be seconds) since the epoch.
std::optional<time_point> from_epoch_number(double value);

/// RFC 3339 in UTC with microseconds: "2024-05-01T12:00:00.000000Z".
std::string format_timestamp(time_point t);

time_point now() noexcept;

}  // namespace dlrd::report
