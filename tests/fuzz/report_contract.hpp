// What every decoder promises about a report it accepts; the fuzz targets abort when a
// promise is broken, so libFuzzer reports the input.
#pragma once

#include <dlrd/decode/decode.hpp>
#include <dlrd/report/codec.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace dlrd::fuzz {

/// Aborts (a finding) naming the broken promise's line, so a crash log says which one.
inline void check(bool ok, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  if (ok) return;
  std::fprintf(stderr, "contract broken at %s:%d\n", file, line);
  std::abort();
}

inline bool printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

/// A bounded, printable id; the provider and arrival time it was decoded with; a recipient
/// already normalized; bounded optional fields; and a spool record that carries it unchanged.
inline void check_report(const report::delivery_report& r, std::string_view provider, report::time_point received) {
  check(!r.message_id.empty() && r.message_id.size() <= decode::max_message_id_bytes && printable(r.message_id));
  check(r.provider == provider && r.received_at == received);
  check(r.event_time_from_gateway || r.event_at == received);
  if (r.recipient) check(decode::normalize_recipient(*r.recipient) == r.recipient);
  if (r.parts) check(*r.parts >= 1 && *r.parts <= 255);
  for (const auto* f : {&r.sender, &r.error_code, &r.cost, &r.carrier_time}) {
    if (*f) check(!(*f)->empty() && (*f)->size() <= decode::max_field_bytes && printable(**f));
  }
  check(report::decode(report::encode(r)) == report::ingest_record(r));
}

}  // namespace dlrd::fuzz
