// The `status_api`, `expiry` and `retention` config sections: the message status API's
// limits, application-level expiry rules, and how long history is kept.
#pragma once

#include <dlrd/config/yaml.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::status {

/// `status_api`: GET/POST /v1/messages and their long-poll.
struct status_api_config {
  bool enabled = true;
  /// The longest `wait` a request may ask for; longer ones are shortened to this.
  std::chrono::milliseconds max_wait{60'000};
  /// Long-polls waiting at once on this instance; past this, new ones get 503.
  std::size_t max_waiters = 10'000;
  /// Message ids per POST /v1/messages:wait.
  std::size_t max_batch = 1'000;
  /// PostgreSQL connections (and threads) for lookups, send logging and waiter registration.
  int connections = 2;
  /// Requests queued for those connections; past this, 503.
  std::size_t max_queue = 10'000;
  /// Reports of the history returned per message, newest kept.
  std::size_t history_limit = 50;

  bool operator==(const status_api_config&) const = default;
};

/// One `expiry.rules` entry: pending messages matching every given filter turn `expired`
/// once `after` has passed since their send time.
struct expiry_rule {
  std::string name;
  std::optional<std::string> tag;               ///< match.tag: one of the message's tags
  std::optional<std::string> sender;            ///< match.sender
  std::optional<std::string> recipient_prefix;  ///< match.recipient_prefix, e.g. "+44"
  std::optional<std::string> provider;          ///< match.provider
  std::chrono::milliseconds after{std::chrono::minutes(10)};
  /// false: its expiry writes no message_expired_by_policy notice. The writers read it at
  /// start (store_config::quiet_expiries), so a change needs a restart.
  bool notify = true;

  bool operator==(const expiry_rule&) const = default;
};

/// `expiry`: run by the leader every `interval`, at most `batch` messages per run.
struct expiry_config {
  std::chrono::milliseconds interval{30'000};
  std::size_t batch = 1'000;
  std::vector<expiry_rule> rules;  ///< none by default

  bool operator==(const expiry_config&) const = default;
};

/// `retention`: the leader deletes old rows every `interval`, at most `batch` per table per run.
struct retention_config {
  /// dlr_events history older than this by event time: a day's partition is dropped once all
  /// of it is older (sql/0015); rows of the default partition go by stored_at, `batch` at a
  /// time. std::nullopt (`null`) keeps them forever.
  std::optional<std::chrono::milliseconds> events_after{std::chrono::hours(24 * 90)};
  /// sms_logs rows in a final status whose status time is older than this; null = keep.
  std::optional<std::chrono::milliseconds> sms_logs_after;
  /// Alert notices (dlr_alert_outbox) written longer ago than this that no sink still owes;
  /// longer than alerts.max_age (checked with the alerts section). null = keep.
  std::optional<std::chrono::milliseconds> notices_after{std::chrono::hours(24 * 30)};
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::size_t batch = 10'000;

  bool operator==(const retention_config&) const = default;
};

void parse(config::section& s, status_api_config& out);
/// Checks that rule names are unique; a rule without `match` applies to every message.
void parse(config::section& s, expiry_config& out);
void parse(config::section& s, retention_config& out);

}  // namespace dlrd::status
