// The alert dispatcher's door to PostgreSQL: claim due failure notices per sink, record the outcome.
#pragma once

#include <dlrd/store/config.hpp>
#include <dlrd/store/connection.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace dlrd::store {

/// One failure notice from dlr_alert_outbox, as claimed for one sink.
struct notice {
  std::int64_t id = 0;
  std::string kind;                        ///< "message_failed", "message_expired_by_policy", "rate_rule_fired", ...
  std::string message_id;
  std::string status;                      ///< canonical status, e.g. "undelivered"
  std::string raw_status;
  std::optional<std::string> error_code;
  std::optional<std::string> recipient;
  std::optional<std::string> sender;
  std::optional<std::string> country;      ///< ISO 3166-1 alpha-2
  std::string provider;
  std::string status_at;                   ///< RFC 3339 UTC, empty when unknown
  std::string noticed_at;                  ///< when the notice was written, RFC 3339 UTC
  std::string details;                     ///< JSON object (rate rules: the rule and its figures); "" when none
  int attempts = 1;                        ///< sends started for this sink, this one included

  bool operator==(const notice&) const = default;
};

struct claim_result {
  std::vector<notice> notices;             ///< due now, leased to the caller
  std::size_t dropped_stale = 0;           ///< notices older than max_age, marked dropped instead
};

/// A notice's next retry: `delay` from now (the database's clock).
struct retry_at {
  std::int64_t notice_id = 0;
  std::chrono::milliseconds delay{0};
};

/// One PostgreSQL connection of its own, so alerting never competes with the writers for theirs.
/// Several outboxes (threads, dlrd instances) may claim for the same sink: a notice is
/// leased to exactly one of them. Each call runs under store's retry_policy (retry.hpp):
/// reconnects after a broken connection, then throws database_error if that fails too.
/// Not thread-safe: one per thread.
class outbox {
 public:
  explicit outbox(database_config db);
  ~outbox();
  outbox(const outbox&) = delete;
  outbox& operator=(const outbox&) = delete;

  /// Up to `limit` notices due for `sink`: new ones past the sink's cursor (oldest first),
  /// then retries whose next_attempt_at has passed. Each is leased for `lease` (it is
  /// claimed again only if neither mark_* is called in time, e.g. after a crash). Notices
  /// written more than `max_age` ago are marked dropped ('stale') and only counted.
  claim_result claim(const std::string& sink, std::size_t limit, std::chrono::milliseconds max_age,
                     std::chrono::milliseconds lease);

  /// Records the notices as sent; `digested` when they went out folded into a digest.
  void mark_sent(const std::string& sink, std::span<const std::int64_t> ids, bool digested = false);
  /// Records a failed attempt; each notice is due again after its own delay.
  void mark_failed(const std::string& sink, std::span<const retry_at> retries, const std::string& error);
  /// Records the notices as dropped (never to be sent) with `reason`.
  void mark_dropped(const std::string& sink, std::span<const std::int64_t> ids, const std::string& reason);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// How many notices one sink has not sent yet: written and not yet claimed by it, in flight,
/// or failed and waiting for their retry; not those sent or dropped.
struct sink_backlog {
  std::string sink;
  std::int64_t notices = 0;

  bool operator==(const sink_backlog&) const = default;
};

/// The backlog of each sink in `sinks`, in that order, read in one statement on `db`; a sink
/// that never claimed counts every notice. Runs under store's retry policy; throws
/// database_error when PostgreSQL cannot answer.
std::vector<sink_backlog> outbox_backlog(connection& db, const std::vector<std::string>& sinks);

}  // namespace dlrd::store
