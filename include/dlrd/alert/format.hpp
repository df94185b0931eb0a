// What a notice looks like on the wire: webhook JSON, Slack text with escaping, digest summaries,
// and the retry backoff schedule. Pure functions, unit-tested without a network.
#pragma once

#include <dlrd/alert/config.hpp>
#include <dlrd/store/outbox.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::alert {

/// Many notices folded into one message once a sink's rate limit is reached.
struct digest {
  std::size_t count = 0;
  std::vector<std::pair<std::string, std::size_t>> by_status;      ///< most frequent first
  std::vector<std::pair<std::string, std::size_t>> top_countries;  ///< at most 5, most frequent first
  std::string first_noticed_at;
  std::string last_noticed_at;
  std::vector<std::int64_t> notice_ids;
};

digest make_digest(std::span<const store::notice> notices);

/// "37 more failures: 30 undelivered, 7 rejected; top countries: DE 20, FR 9"
std::string digest_text(const digest& d);

/// True for a rate rule's notice (fired or resolved): sent on its own, never folded into a digest.
bool is_rule_notice(const store::notice& n);

/// "Rate rule failure-rate fired for GB: 6.00% failed (60 of 1000 final messages in 1h;
/// fires above 5.00%)"
std::string rule_text(const store::notice& n);

/// True for a quarantined callback's notice (kind payload_quarantined).
bool is_quarantine_notice(const store::notice& n);

/// "Callback for profile smspm quarantined: missing field [messageId] (dlrd quarantine list --id 12)"
std::string quarantine_text(const store::notice& n);

/// True for a policy expiry's notice (kind message_expired_by_policy): dlrd's expiry rule,
/// not the carrier, set the message `expired`.
bool is_policy_expiry_notice(const store::notice& n);

/// "SMS m-1 expired by dlrd's expiry rule otp: no final report from the carrier yet (it may
/// still deliver), to +447700900123 [GB], via smspm, at 2026-01-05T10:10:00.000000Z"
std::string policy_expiry_text(const store::notice& n);

/// Webhook body of one notice: {"type":"message_failed","notice_id",...}; for a policy expiry
/// {"type":"message_expired_by_policy","notice_id",...,"expired_by":"policy","rule",...}; for a rate rule
/// {"type":"rate_rule_fired"|"rate_rule_resolved","notice_id",...,"rule",...}; for a quarantined
/// callback {"type":"payload_quarantined","notice_id",...,"reason",...} (README "Alerts").
std::string webhook_json(const store::notice& n);
/// Webhook body of a digest: {"type":"digest","count",...}.
std::string webhook_json(const digest& d);

/// Escapes Slack's control characters (& < >) so that text cannot form mentions, channel
/// pings or links; everything else is left as it is (JSON encoding happens afterwards).
std::string slack_escape(std::string_view text);
/// Slack incoming-webhook bodies: {"text": "..."} with every report field escaped.
std::string slack_json(const store::notice& n);
std::string slack_json(const digest& d);

/// One log line's fields: key="value" pairs, values JSON-quoted so that no field can
/// forge another field or a new line.
std::string log_fields(const store::notice& n);

/// Delay before attempt `attempts + 1` after `attempts` failed ones (attempts >= 1):
/// base = min(max, initial * 2^(attempts-1)), then a random point in [base/2, base].
std::chrono::milliseconds backoff(const retry_config& retry, int attempts, std::mt19937_64& rng);

}  // namespace dlrd::alert
