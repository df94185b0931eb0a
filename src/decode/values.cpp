// Value checks and renderings of gateways' fields: see values.hpp.
#include "values.hpp"

#include <dlrd/decode/profile.hpp>

#include <charconv>
#include <system_error>

namespace dlrd::decode::detail {

using json = nlohmann::json;
using text::lower;

/// C0 controls, DEL, and the UTF-8 encoded C1 controls (U+0080..U+009F): none belong in an
/// identifier, and NUL cannot be stored in a PostgreSQL text column at all.
bool has_control(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
  }
  return false;
}

/// Form and query values are bytes; JSON strings were checked by the parser. A value that
/// is not UTF-8 cannot be stored in a text column.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xc2) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    if (n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f)) return false;
    }
    if (n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 > 0x8f)) return false;
    }
    i += n;
  }
  return true;
}

/// A short, printable rendering of untrusted text for an error reason: control
/// characters become '?', and it is cut at a UTF-8 character boundary.
std::string quote(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (out.size() >= max_field_bytes && (c & 0xc0) != 0x80) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) out.push_back('?');
    else out.push_back(s[i]);
  }
  return "'" + out + "'";
}

std::string integer_text(const json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>()) : std::to_string(v.get<std::int64_t>());
}

/// Decimal text without an exponent: "12", "-3", "0.5".
bool is_decimal_text(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  std::size_t int_digits = 0, frac_digits = 0;
  std::size_t i = 0;
  while (i < s.size() && text::is_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && text::is_digit(s[i])) ++i, ++frac_digits;
    if (frac_digits == 0) return false;
  }
  return i == s.size() && int_digits > 0;
}

std::string fixed_text(double v) {
  char buf[64];
  // Shortest round-trip digits in fixed notation: 0.045 stays "0.045", not 0.04499999...
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return {};
  return std::string(buf, end);
}

/// A lower-cased word against a lower-cased pattern: equal, or "x*" a prefix of it.
bool matches(std::string_view pattern, std::string_view word) {
  if (!pattern.empty() && pattern.back() == '*') return word.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == word;
}

/// A scalar as the lower-cased text a rule compares: strings (trimmed), integers, booleans.
std::optional<std::string> rule_text(const json& v) {
  if (v.is_string()) return lower(trim(v.get_ref<const std::string&>()));
  if (v.is_number_integer()) return integer_text(v);
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return std::nullopt;
}

}  // namespace dlrd::decode::detail

namespace dlrd::decode {

namespace {

std::optional<std::uint64_t> number_of(std::string_view digits, int base) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return n;
}

std::string upper(std::string s) {
  for (auto& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

}  // namespace

std::optional<std::string> match_id(id_match how, std::string_view id) {
  std::string out(id);
  switch (how) {
    case id_match::exact: return out;
    case id_match::lower: return text::lower(id);
    case id_match::upper: return upper(std::move(out));
    case id_match::unpadded: {
      auto first = id.find_first_not_of('0');
      return first == std::string_view::npos ? std::string("0") : std::string(id.substr(first));
    }
    case id_match::decimal_to_hex:
    case id_match::decimal_to_hex_upper: {
      auto n = number_of(id, 10);
      if (!n) return std::nullopt;
      char buf[24];
      auto end = std::to_chars(buf, buf + sizeof buf, *n, 16).ptr;
      out.assign(buf, end);
      return how == id_match::decimal_to_hex ? out : upper(std::move(out));
    }
    case id_match::hex_to_decimal: {
      auto n = number_of(id, 16);
      if (!n) return std::nullopt;
      return std::to_string(*n);
    }
  }
  return out;
}

}  // namespace dlrd::decode
