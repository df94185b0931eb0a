// Provider profiles: how to read one gateway's delivery-report callbacks. Built-in profiles
// and operator-defined (`generic`) ones are the same data, read from the same YAML shape.
#pragma once

#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/decode.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::decode {

/// Where a callback's fields may come from (a bit set).
enum encoding : unsigned { json_body = 1, form_body = 2, query_string = 4, text_body = 8 };

/// How the status field is read.
enum class status_kind : std::uint8_t {
  word,         ///< a status word, mapped by the profile's table, then the common vocabulary
  kannel_type,  ///< Kannel's %d: 1 delivered, 2 failed, 4 buffered, 8 SMSC ack, 16 SMSC reject, 34 expired
                ///< (0x20|failed; a bare 32 is Kannel 1.4's intermediate notice: pending)
};

/// Aliases of one field, tried in order; each a dotted path ("status.groupName"), "@" for
/// the batch element itself. Looked up in the batch element first, then in each enclosing
/// object out to the body's root, then in the query string.
using field_paths = std::vector<std::string>;

/// The zone of a gateway's zone-less times: a fixed offset, or an IANA zone's offsets over time.
struct time_zone {
  std::string name;  ///< the IANA name; empty for a fixed offset
  int fixed_minutes = 0;  ///< east of UTC, when `changes` is empty
  /// (UTC second from which it holds, offset in seconds east of UTC), ascending; the first
  /// holds from the beginning of time. After the last one its offset stays.
  std::vector<std::pair<std::int64_t, std::int64_t>> changes;

  /// The UTC second a local wall-clock second names (a repeated hour: its second occurrence;
  /// a skipped one: as if the clock had not moved yet).
  std::int64_t to_utc(std::int64_t local) const;
};

/// Reads an IANA zone ("Europe/Berlin") from the system's tzdata (TZDIR, default
/// /usr/share/zoneinfo); std::nullopt with `why` when there is no such usable zone.
std::optional<time_zone> load_time_zone(std::string_view name, std::string& why);

/// How a report's message id is rewritten into the id the send logged (`id_match:`), for
/// gateways whose receipts spell an id differently from the submit answer (SMPP SMSCs answer
/// submit_sm in hex and write the receipt's id in decimal, zero-padded; some echo an id in
/// the other case). Applied to the id as read (or composed), before it is written.
enum class id_match : std::uint8_t {
  exact,                 ///< as received (the default)
  lower,                 ///< the send logged lower case: letters lower-cased
  upper,                 ///< the send logged upper case: letters upper-cased
  unpadded,              ///< leading zeros dropped ("0000029095" → "29095"; "000" → "0")
  decimal_to_hex,        ///< a decimal id as lower-case hexadecimal, no leading zeros
  decimal_to_hex_upper,  ///< the same with upper-case digits ("0870928761" → "33E95179")
  hex_to_decimal,        ///< a hexadecimal id (either case, zero-padded) as decimal
};

/// `id` as `how` rewrites it; std::nullopt when a conversion's input is not a number of its
/// base or does not fit 64 bits.
std::optional<std::string> match_id(id_match how, std::string_view id);

/// One event filter: the callback's `field` has one of `values` (any case; "x*" a prefix).
struct event_rule {
  std::string field;
  std::vector<std::string> values;  ///< lower-cased
  std::string reason;               ///< why a callback is ignored (a metric label: fixed by the profile)
};

struct profile {
  std::string name;
  std::string description;
  unsigned encodings = json_body;
  /// Where the reports are inside a JSON body: steps of "path[]" separated by '.', e.g.
  /// "results[]" or "statuses[].recipients[]". Empty: the root object, or each element of a
  /// root array.
  std::vector<std::string> batch;  ///< the spec split into its steps at load: {"statuses", "recipients"}
  std::size_t max_batch = 1000;
  /// `batch_errors: element`: a batch element that does not decode is quarantined alone (see
  /// decoded::rejected) and the others are read; `whole` (the default): the request is.
  bool quarantine_elements = false;

  field_paths message_id, status, recipient, timestamp, error_code, sender, parts, cost, receipt;
  /// A boolean saying whether a failure is permanent (Infobip's error.permanent): on a failed
  /// report, true reads as rejected, false turns rejected into undelivered.
  field_paths permanent;
  /// A zone-less carrier time (Vonage's scts): used, before `timestamp`, only when the
  /// profile names the zone (`timezone:`); otherwise the zoned `timestamp` fields decide.
  field_paths carrier_time;
  /// Composes message_id from other values: "{batch_id}:{$recipient}" ({$recipient} is the
  /// normalised recipient, any other name a field path). Empty: the message_id field.
  std::string message_id_template;
  id_match id_rule = id_match::exact;
  bool recipient_required = false;
  /// Error codes that mean "no error" for this gateway ("0", "000"): not stored.
  std::vector<std::string> no_error_codes;

  /// Events that are not delivery reports (an inbound SMS on the same webhook): a report whose
  /// field matches an `ignore` rule, or whose field is present and matches no value of an
  /// `accept` rule, is answered like the rest and counted under the rule's reason, never stored.
  std::vector<event_rule> accept, ignore;
  /// Non-empty: a batch without a single report (Sinch's summary report: counts, no
  /// recipients) is such an ignored event, counted under this reason, instead of invalid.
  std::string empty_batch_reason;
  /// Error code (lower-cased; "x*" a prefix) → canonical status for a failed report, exact
  /// codes before prefixes, then in order: the code, not the word, says whether a failure is
  /// permanent (rejected, never retried) or transient (undelivered, retried).
  std::vector<std::pair<std::string, report::status>> error_statuses;
  /// Status words (lower-cased; "x*" a prefix) that are also the error code (Jasmin's level-1
  /// ESME_R* answers), stored as the error code when the callback has none.
  std::vector<std::string> status_error_codes;

  status_kind kind = status_kind::word;
  /// Lower-cased word → canonical status; a key ending in '*' matches a prefix. Looked up
  /// before the common vocabulary.
  std::vector<std::pair<std::string, report::status>> statuses;
  /// "iso8601", "epoch" (seconds or milliseconds), or a pattern of %Y %y %m %d %H %M %S.
  std::vector<std::string> timestamp_formats = {"iso8601", "epoch"};
  /// The zone of times that carry none (`timezone:`: UTC, "+02:00", or an IANA name).
  time_zone zone;
  /// The profile names the zone of its zone-less times (`timezone:`).
  bool zone_named = false;

  /// The answer once the reports are durable.
  unsigned success_status = 200;
  std::string success_content_type = "application/json";
  std::string success_body = R"({"ok":true})";
};

/// What a profile decodes from.
struct callback_input {
  bool get = false;               ///< a GET (fields in the query string only)
  std::string_view media_type;    ///< lower-cased, without parameters; may be empty
  std::string_view query;         ///< raw query string, without '?'
  std::string_view body;
};

/// What decode() reads of a callback, decided before anything is parsed: signature checks
/// use it to refuse a request whose read parts their scheme does not sign.
struct reading {
  enum class body_as { nothing, json, form, text };
  body_as body = body_as::nothing;
  /// The query string's fields are read: as the report (GET, empty POST) or as the fields a
  /// JSON or form body lacks.
  bool query = false;
  /// The method or media type is not one the profile takes (405/415): the body is not read.
  bool unsupported = false;
};
reading reading_of(const profile& p, const callback_input& in);

/// A decoded request: its reports, the status words the profile did not know (kept raw,
/// read as pending), and the reason of each event the profile ignores (not a delivery
/// report: answered as a success, counted, never stored). At least one report, ignored event or
/// rejected element.
struct decoded {
  std::vector<report::delivery_report> reports;
  std::vector<std::string> unknown_words;
  std::vector<std::string> ignored;
  /// With `batch_errors: element`, each element that did not decode, to quarantine alone: its
  /// error, and as its body the JSON of a request holding it alone (its enclosing objects,
  /// each batch list cut to it), which is what a replay decodes again.
  std::vector<report::quarantined_payload> rejected;
};

/// Why a request was not decoded: `unsupported` when its encoding is not one the profile
/// takes (answered 415 or 405, never quarantined), else the payload is invalid.
struct profile_error {
  decode_error error;
  bool unsupported = false;
};

std::variant<decoded, profile_error> decode(const profile& p, const callback_input& in,
                                            report::time_point received_at);

/// The built-in profiles (smspm, twilio, vonage, sinch, infobip, kannel, jasmin, telnyx...),
/// read at first use from the YAML embedded in the binary.
const std::vector<profile>& builtin_profiles();
const profile* find_builtin(std::string_view name);
/// The operator's profile of that name if there is one, else the built-in one; nullptr when neither.
const profile* find_profile(std::string_view name, const std::vector<profile>& custom);
/// The YAML the built-in profiles are read from, with their comments (`dlrd profiles`).
std::string_view builtin_profiles_text();

/// Reads one profile mapping into `out` (whose values are the defaults; the caller calls
/// finish()).
void parse_profile(config::section& s, profile& out);

/// Reads a `profiles:` mapping of name → profile. A profile starts from the built-in one of
/// its `extends:` (or from nothing) and may not reuse a built-in name.
void parse_profiles(config::section& s, std::vector<profile>& out);

/// Parses a time with one of the formats above; std::nullopt when it does not match.
std::optional<report::time_point> parse_time_with(std::string_view format, std::string_view text,
                                                  const time_zone& zone);

/// An SMPP delivery receipt text ("id:123 sub:001 dlvrd:001 submit date:2305011200 done
/// date:2305011201 stat:DELIVRD err:000 text:..."): its fields by name.
struct smpp_receipt {
  std::string id, stat, err, done_date, submit_date;
};
std::optional<smpp_receipt> parse_smpp_receipt(std::string_view text);

}  // namespace dlrd::decode
