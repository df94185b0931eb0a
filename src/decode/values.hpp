// Value checks and renderings the profile engine applies to gateways' fields.
#pragma once

#include <dlrd/text/ascii.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::decode::detail {

using json = nlohmann::json;

/// A gateway's value without surrounding blanks and line ends.
constexpr std::string_view trim(std::string_view s) { return text::trim(s, text::blanks_and_line_ends); }

/// C0 controls, DEL, and the UTF-8 encoded C1 controls (U+0080..U+009F): none belong in an
/// identifier, and NUL cannot be stored in a PostgreSQL text column at all.
bool has_control(std::string_view s);

/// Form and query values are bytes; JSON strings were checked by the parser. A value that
/// is not UTF-8 cannot be stored in a text column.
bool valid_utf8(std::string_view s);

/// A short, printable rendering of untrusted text for an error reason: control
/// characters become '?', and it is cut at a UTF-8 character boundary.
std::string quote(std::string_view s);

/// An integer JSON value as decimal text.
std::string integer_text(const json& v);

/// Decimal text without an exponent: "12", "-3", "0.5".
bool is_decimal_text(std::string_view s);

/// A number as fixed-point decimal text with the shortest digits that read back the same.
std::string fixed_text(double v);

/// A lower-cased word against a lower-cased pattern: equal, or "x*" a prefix of it.
bool matches(std::string_view pattern, std::string_view word);

/// A scalar as the lower-cased text a rule compares: strings (trimmed), integers, booleans.
std::optional<std::string> rule_text(const json& v);

}  // namespace dlrd::decode::detail
