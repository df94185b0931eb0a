// Fuzzes the SMSPM JSON decoder: never throws or crashes, and what it accepts obeys the contract.
#include <dlrd/decode/decode.hpp>

#include "report_contract.hpp"

#include <cstdint>
#include <string_view>

using dlrd::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd;
  using dlrd::fuzz::check_report;
  const report::time_point received{std::chrono::microseconds{1'714'557'600'000'000}};
  auto result = decode::decode_smspm_json(std::string_view(reinterpret_cast<const char*>(data), size), received);
  if (const auto* e = std::get_if<decode::decode_error>(&result)) {
    check(!e->reason.empty());
    return 0;
  }
  const auto& reports = std::get<std::vector<report::delivery_report>>(result);
  check(!reports.empty() && reports.size() <= 1000);
  for (const auto& r : reports) {
    check_report(r, "smspm", received);
    // Known words map to their status; a word nobody knows is kept raw and read as pending.
    check(decode::map_status_word(r.raw_status).value_or(report::status::pending) == r.canonical);
  }
  return 0;
}
