// Fuzzes the SMSPM JSON decoder: never throws or crashes, and what it accepts obeys the contract.
#include <dlrd/decode/decode.hpp>

#include <dlrd/report/codec.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dlrd;
  const report::time_point received{std::chrono::microseconds{1'714'557'600'000'000}};
  auto result = decode::decode_smspm_json(std::string_view(reinterpret_cast<const char*>(data), size), received);
  if (const auto* e = std::get_if<decode::decode_error>(&result)) {
    check(!e->reason.empty());
    return 0;
  }
  const auto& reports = std::get<std::vector<report::delivery_report>>(result);
  check(!reports.empty() && reports.size() <= 1000);
  for (const auto& r : reports) {
    check(!r.message_id.empty() && r.message_id.size() <= decode::max_message_id_bytes && printable(r.message_id));
    check(r.provider == "smspm" && r.received_at == received);
    check(r.event_time_from_gateway || r.event_at == received);
    // Known words map to their status; a word nobody knows is kept raw and read as pending.
    check(decode::map_status_word(r.raw_status).value_or(report::status::pending) == r.canonical);
    if (r.recipient) check(decode::normalize_recipient(*r.recipient) == r.recipient);
    if (r.parts) check(*r.parts >= 1 && *r.parts <= 255);
    for (const auto* f : {&r.sender, &r.error_code, &r.cost}) {
      if (*f) check(!(*f)->empty() && (*f)->size() <= decode::max_field_bytes && printable(**f));
    }
    // What the decoder produces is what the spool must carry unchanged.
    check(report::decode(report::encode(r)) == report::ingest_record(r));
  }
  return 0;
}
