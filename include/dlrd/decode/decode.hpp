// Provider decoders: turn a callback's body into delivery reports, or say precisely why not.
#pragma once

#include <dlrd/report/report.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dlrd::decode {

/// Why a payload did not decode; `field` names the offending field ("" for the whole body).
struct decode_error {
  std::string reason;
  std::string field;
  bool operator==(const decode_error&) const = default;
};

/// One request's reports (one for a single callback, several for a batch), or the error.
/// A batch with any bad element is an error as a whole: batches are atomic units.
using decode_result = std::variant<std::vector<report::delivery_report>, decode_error>;

/// SMSPM's JSON callback through the built-in `smspm` profile: an object with messageId
/// optionally from, errorCode|error_code, parts, price|cost; or an array of them.
/// `received_at` stands in for a missing timestamp.
decode_result decode_smspm_json(std::string_view body, report::time_point received_at);

/// Maps a gateway status word (any case) to the canonical status; std::nullopt when unknown.
std::optional<report::status> map_status_word(std::string_view raw);

/// "+44 7700-900123", "0044...", "447700900123" → "+447700900123"; std::nullopt when
/// it is not a plausible E.164 number (7 to 15 digits after normalisation).
std::optional<std::string> normalize_recipient(std::string_view raw);

/// Limits applied to every decoded field.
inline constexpr std::size_t max_message_id_bytes = 128;
inline constexpr std::size_t max_field_bytes = 64;

}  // namespace dlrd::decode
