// ASCII text helpers: character classes, lower-casing, case-insensitive comparison, trimming
// and hex digits.
// Locale-free on purpose: the words compared (schemes, header names, status words, units)
// are ASCII, and a process-wide locale must not change what a gateway's report means.
#pragma once

#include <string>
#include <string_view>

namespace dlrd::text {

constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_alpha(char c) { return is_upper(c) || (c >= 'a' && c <= 'z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
/// Letters and digits, ASCII only (names, tokens and paths are checked against these).
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

/// 'A'..'Z' to 'a'..'z'; every other byte (UTF-8 included) unchanged.
constexpr char lower(char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

/// A lower-cased copy of `s` (ASCII letters only).
std::string lower(std::string_view s);

/// Equal when lower-cased (ASCII letters only).
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// Space and tab: HTTP's optional whitespace around header values and list entries.
inline constexpr std::string_view blanks = " \t";
/// Blanks and line ends: what a gateway may leave around a value in a body.
inline constexpr std::string_view blanks_and_line_ends = " \t\r\n";
/// What std::isspace accepts in the "C" locale.
inline constexpr std::string_view c_space = " \t\n\v\f\r";

/// `s` without leading and trailing characters from `set`.
constexpr std::string_view trim(std::string_view s, std::string_view set = blanks) {
  auto first = s.find_first_not_of(set);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(set) - first + 1);
}

/// The value of a hexadecimal digit, either case; -1 for any other character.
constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace dlrd::text
