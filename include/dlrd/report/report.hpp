// The value that flows through dlrd: one delivery report, or one payload set aside in quarantine.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

namespace dlrd::report {

/// Microsecond resolution, the same as PostgreSQL's timestamptz, so that the merge
/// rule compares exactly the values the database compares.
using time_point = std::chrono::sys_time<std::chrono::microseconds>;

/// The five canonical delivery states. The enumerator order is the last tie-break of
/// the convergence rule (DESIGN.md invariant 3); do not reorder.
enum class status : std::uint8_t { pending = 0, expired = 1, undelivered = 2, rejected = 3, delivered = 4 };

/// Class rank: pending-like 0 < failed finals 1 < delivered 2.
constexpr int status_class(status s) noexcept {
  switch (s) {
    case status::pending: return 0;
    case status::expired:
    case status::undelivered:
    case status::rejected: return 1;
    case status::delivered: return 2;
  }
  return 0;
}

constexpr bool is_final(status s) noexcept { return s != status::pending; }
constexpr bool is_failed(status s) noexcept { return status_class(s) == 1; }

std::string_view to_string(status s) noexcept;
std::optional<status> parse_canonical(std::string_view name) noexcept;

/// One delivery report as received from a gateway, already decoded by a provider profile.
struct delivery_report {
  std::string message_id;
  status canonical = status::pending;
  std::string raw_status;                 ///< the gateway's own word, kept verbatim
  time_point event_at{};                  ///< the gateway's timestamp, or received_at when it sent none
  bool event_time_from_gateway = false;
  time_point received_at{};
  std::string provider;                   ///< profile name, e.g. "smspm"
  std::optional<std::string> recipient;   ///< normalised E.164 digits with '+', when known
  std::optional<std::string> sender;
  std::optional<std::string> error_code;
  std::optional<std::int32_t> parts;
  std::optional<std::string> cost;        ///< decimal text as sent, e.g. "0.0450"
  /// A zone-less carrier time as the gateway wrote it (Vonage's scts, Twilio's RawDlrDoneDate,
  /// an SMPP receipt's done date), kept verbatim in history whether or not it became event_at.
  std::optional<std::string> carrier_time;

  bool operator==(const delivery_report&) const = default;
};

/// A request that authenticated but did not decode: kept raw, with the reason.
struct quarantined_payload {
  std::string provider;
  std::string reason;
  std::string field;          ///< the offending field, empty when the whole body is at fault
  std::string content_type;
  std::string body;
  time_point received_at{};

  bool operator==(const quarantined_payload&) const = default;
};

using ingest_record = std::variant<delivery_report, quarantined_payload>;

/// Whether a decimal text ("0.0450", "-3", "+12.5") fits sms_logs.cost_eur, the seed article's
/// NUMERIC(10,6): at most four digits before the point (below 10,000; extra decimals round).
/// False for anything that is not plain decimal text (an exponent, say).
bool fits_cost_eur(std::string_view decimal) noexcept;

/// The total order of DESIGN.md invariant 3: class rank, then event time, then the
/// fixed status order, then raw status and error code (byte order, like COLLATE "C")
/// so that two different reports never compare equal on what the row shows.
inline auto order_key(const delivery_report& r) {
  return std::make_tuple(status_class(r.canonical), r.event_at, static_cast<int>(r.canonical),
                         std::string_view(r.raw_status),
                         std::string_view(r.error_code ? *r.error_code : std::string_view{}));
}

/// True when `a` must replace `b` as a message's current state.
inline bool wins_over(const delivery_report& a, const delivery_report& b) {
  return order_key(a) > order_key(b);
}

}  // namespace dlrd::report
