// Fuzzes the profile engine with every built-in profile and every encoding: never throws or
// crashes, and what it accepts obeys the contract the spool and the writers rely on.
#include <dlrd/decode/profile.hpp>

#include "report_contract.hpp"

#include <cstdint>
#include <string_view>

using dlrd::fuzz::check;

// Input: byte 0 picks the profile, byte 1 the encoding; the rest is split at the first
// '\n' into the query string and the body.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd;
  if (size < 2) return 0;
  const auto& profiles = decode::builtin_profiles();
  const auto& p = profiles[data[0] % profiles.size()];
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  auto nl = rest.find('\n');
  decode::callback_input in;
  in.query = nl == std::string_view::npos ? std::string_view{} : rest.substr(0, nl);
  in.body = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
  static constexpr std::string_view media[] = {"application/json", "application/x-www-form-urlencoded", "",
                                               "text/plain"};
  in.get = (data[1] & 4) != 0;
  in.media_type = media[data[1] % 4];
  const report::time_point received{std::chrono::microseconds{1'714'557'600'000'000}};
  auto result = decode::decode(p, in, received);
  if (const auto* e = std::get_if<decode::profile_error>(&result)) {
    check(!e->error.reason.empty());
    return 0;
  }
  const auto& out = std::get<decode::decoded>(result);
  check(!out.reports.empty() && out.reports.size() <= p.max_batch);
  for (const auto& r : out.reports) {
    dlrd::fuzz::check_report(r, p.name, received);
  }
  return 0;
}
