// Gateway status words → canonical status: the vocabulary SMS gateways actually use.
#include <dlrd/decode/decode.hpp>

#include <dlrd/text/ascii.hpp>

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

}  // namespace

std::optional<report::status> map_status_word(std::string_view raw) {
  raw = text::trim(raw, text::blanks_and_line_ends);
  for (const auto& [word, st] : words) {
    if (text::iequals(raw, word)) return st;
  }
  return std::nullopt;
}

}  // namespace dlrd::decode
