// The ISO 3166 country of a recipient's E.164 number, from libphonenumber.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::report {

/// "+447700900123" → "GB"; std::nullopt when the number is not E.164 or maps to no region.
/// Results are cached per thread by number prefix (libphonenumber costs ~20 µs a call).
/// Thread-safety: safe from any thread.
std::optional<std::string> country_of(std::string_view e164);

}  // namespace dlrd::report
