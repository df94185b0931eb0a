// Gateway status words → canonical status: the vocabulary SMS gateways actually use.
#include <dlrd/decode/decode.hpp>

#include <array>
#include <utility>

namespace dlrd::decode {
namespace {

using report::status;

constexpr std::array<std::pair<std::string_view, status>, 25> words{{
    {"delivered", status::delivered},     {"delivrd", status::delivered},
    {"success", status::delivered},       {"successful", status::delivered},
    {"undelivered", status::undelivered}, {"undeliv", status::undelivered},
    {"undeliverable", status::undelivered}, {"failed", status::undelivered},
    {"failure", status::undelivered},     {"error", status::undelivered},
    {"rejected", status::rejected},       {"rejectd", status::rejected},
    {"blocked", status::rejected},        {"expired", status::expired},
    {"pending", status::pending},         {"queued", status::pending},
    {"submitted", status::pending},       {"sent", status::pending},
    {"accepted", status::pending},        {"acceptd", status::pending},
    {"enroute", status::pending},         {"buffered", status::pending},
    {"scheduled", status::pending},       {"processing", status::pending},
    {"unknown", status::pending},
}};

constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::optional<report::status> map_status_word(std::string_view raw) {
  while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  for (const auto& [word, st] : words) {
    if (word.size() != raw.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < word.size() && same; ++i) same = lower(raw[i]) == word[i];
    if (same) return st;
  }
  return std::nullopt;
}

}  // namespace dlrd::decode
