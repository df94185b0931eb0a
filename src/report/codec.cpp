// Binary record encoding: a version byte, a kind byte, then fields in a fixed order.
// Strings are varint-length-prefixed; optionals carry a presence byte.
// Version 2 appends the carrier time. A report without one is still written as version 1, byte
// for byte as before, so a spool written by this build stays readable by the previous one unless
// it holds carrier times.
#include <dlrd/report/codec.hpp>

#include <cstring>

namespace dlrd::report {
namespace {

constexpr std::uint8_t format_v1 = 1;
constexpr std::uint8_t format_v2 = 2;
constexpr std::uint8_t kind_report = 1;
constexpr std::uint8_t kind_quarantine = 2;
constexpr std::uint64_t max_string = 16u << 20;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_i64(std::string& out, std::int64_t v) {
  // zig-zag so that small negative values stay short
  put_varint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}
void put_opt(std::string& out, const std::optional<std::string>& s) {
  out.push_back(s ? 1 : 0);
  if (s) put_str(out, *s);
}

struct reader {
  std::string_view in;
  bool ok = true;

  std::uint8_t byte() {
    if (in.empty()) { ok = false; return 0; }
    auto b = static_cast<std::uint8_t>(in.front());
    in.remove_prefix(1);
    return b;
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      auto b = byte();
      if (!ok) return 0;
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  std::int64_t i64() {
    auto u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string str() {
    auto n = varint();
    if (!ok || n > in.size() || n > max_string) { ok = false; return {}; }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
  bool flag() {
    auto b = byte();
    if (b > 1) ok = false;
    return b == 1;
  }
  std::optional<std::string> opt() {
    if (!flag() || !ok) return std::nullopt;
    return str();
  }
};

}  // namespace

void encode(const ingest_record& record, std::string& out) {
  const auto* r = std::get_if<delivery_report>(&record);
  out.push_back(static_cast<char>(r && r->carrier_time ? format_v2 : format_v1));
  if (r) {
    out.push_back(static_cast<char>(kind_report));
    put_str(out, r->message_id);
    out.push_back(static_cast<char>(r->canonical));
    put_str(out, r->raw_status);
    put_i64(out, r->event_at.time_since_epoch().count());
    out.push_back(r->event_time_from_gateway ? 1 : 0);
    put_i64(out, r->received_at.time_since_epoch().count());
    put_str(out, r->provider);
    put_opt(out, r->recipient);
    put_opt(out, r->sender);
    put_opt(out, r->error_code);
    out.push_back(r->parts ? 1 : 0);
    if (r->parts) put_i64(out, *r->parts);
    put_opt(out, r->cost);
    if (r->carrier_time) put_str(out, *r->carrier_time);
  } else {
    const auto& q = std::get<quarantined_payload>(record);
    out.push_back(static_cast<char>(kind_quarantine));
    put_str(out, q.provider);
    put_str(out, q.reason);
    put_str(out, q.field);
    put_str(out, q.content_type);
    put_str(out, q.body);
    put_i64(out, q.received_at.time_since_epoch().count());
  }
}

std::string encode(const ingest_record& record) {
  std::string out;
  encode(record, out);
  return out;
}

std::optional<ingest_record> decode(std::string_view bytes) {
  reader rd{bytes};
  const auto version = rd.byte();
  if (!rd.ok || (version != format_v1 && version != format_v2)) return std::nullopt;
  auto kind = rd.byte();
  if (!rd.ok) return std::nullopt;
  if (kind == kind_report) {
    delivery_report r;
    r.message_id = rd.str();
    auto st = rd.byte();
    if (st > static_cast<std::uint8_t>(status::delivered)) return std::nullopt;
    r.canonical = static_cast<status>(st);
    r.raw_status = rd.str();
    r.event_at = time_point{std::chrono::microseconds{rd.i64()}};
    r.event_time_from_gateway = rd.flag();
    r.received_at = time_point{std::chrono::microseconds{rd.i64()}};
    r.provider = rd.str();
    r.recipient = rd.opt();
    r.sender = rd.opt();
    r.error_code = rd.opt();
    if (rd.flag()) {
      auto p = rd.i64();
      if (p < INT32_MIN || p > INT32_MAX) return std::nullopt;
      r.parts = static_cast<std::int32_t>(p);
    }
    r.cost = rd.opt();
    if (version == format_v2) r.carrier_time = rd.str();
    if (!rd.ok || !rd.in.empty()) return std::nullopt;
    return r;
  }
  if (kind == kind_quarantine && version == format_v1) {  // version 2 changed reports only
    quarantined_payload q;
    q.provider = rd.str();
    q.reason = rd.str();
    q.field = rd.str();
    q.content_type = rd.str();
    q.body = rd.str();
    q.received_at = time_point{std::chrono::microseconds{rd.i64()}};
    if (!rd.ok || !rd.in.empty()) return std::nullopt;
    return q;
  }
  return std::nullopt;
}

}  // namespace dlrd::report
