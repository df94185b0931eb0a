// Recipient numbers → E.164 text ("+" and 7 to 15 digits), or nothing when implausible.
#include <dlrd/decode/decode.hpp>

#include <dlrd/text/ascii.hpp>

namespace dlrd::decode {

std::optional<std::string> normalize_recipient(std::string_view raw) {
  std::string digits;
  bool plus = false;
  for (char c : raw) {
    if (c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (text::is_digit(c)) {
      // Longer than any E.164 number even with a "00" prefix: stop copying, it is invalid.
      if (digits.size() > 17) return std::nullopt;
      digits.push_back(c);
    } else {
      return std::nullopt;
    }
  }
  // "00" is the international call prefix most of the world dials for "+".
  if (!plus && digits.starts_with("00")) digits.erase(0, 2);
  if (digits.size() < 7 || digits.size() > 15 || digits.front() == '0') return std::nullopt;
  return "+" + digits;
}

}  // namespace dlrd::decode
