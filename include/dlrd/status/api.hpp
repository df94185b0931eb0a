// The message status API (/v1/messages): look a message up, log a send, and wait for a final
// status without holding a thread, woken across instances by PostgreSQL LISTEN/NOTIFY.
#pragma once

#include <dlrd/status/config.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd::status {

/// An HTTP answer without HTTP types: a status code and a JSON body, or an error that the
/// caller renders as {"error": error[, "field": field]}.
struct answer {
  int status = 200;
  std::string body;         ///< JSON, when `error` is empty
  std::string error;        ///< non-empty: an error answer
  std::string field;        ///< the offending parameter, if any
  std::string allow;        ///< for 405: the allowed methods
  int retry_after = 0;      ///< seconds, for 503 (0: no Retry-After)
};

/// What the API needs of an HTTP request.
struct api_request {
  std::string_view method;  ///< "GET", "POST", ...
  std::string_view target;  ///< path and query, e.g. "/v1/messages/abc?wait=30s"
  std::string_view body;
};

/// Called exactly once with the answer, from any thread (possibly before handle() returns).
using completion = std::function<void(answer)>;

/// "30s", "250ms", "2m", or bare seconds ("30"), capped at `max`; std::nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_wait(std::string_view text, std::chrono::milliseconds max);

/// Running totals, for metrics.
struct service_counters {
  std::uint64_t waiting = 0;         ///< long-polls waiting now
  std::uint64_t woken = 0;           ///< long-polls answered because their messages became final
  std::uint64_t timed_out = 0;       ///< long-polls answered at their timeout
  std::uint64_t notifications = 0;   ///< NOTIFY payloads received on this instance
  std::uint64_t refused = 0;         ///< requests answered 503 (limits, database, shutdown)
  /// Waiter index entries visited to add, wake or remove long-polls: at most a few per
  /// (waiter, id) pair however many waiters share an id (a measure of work, for tests).
  std::uint64_t index_steps = 0;
  /// Message states rendered to JSON for long-poll answers: once per state read, shared by
  /// every single-id waiter answered with it (a measure of work, for tests).
  std::uint64_t renders = 0;
};

/// The routes under /v1/messages:
///
///   GET  /v1/messages/{id}[?wait=30s]      the message's state (below); with `wait`, answers
///        as soon as the message is final, or at the timeout with its current state and
///        "timed_out": true. 404 for an unknown id, 400 for a bad `wait` (field "wait").
///   POST /v1/messages                      logs a send through dlr_log_send, idempotent on
///        message_id, never touching delivery state: {"message_id", "to", "from", "text",
///        "parts", "cost", "country", "tags": [...], "provider", "sent_at"} (all but
///        message_id optional); answers the state.
///   POST /v1/messages:wait                 {"ids": [...], "wait": "30s"}: answers when every
///        known id is final, or at the timeout: {"messages": [state...], "unknown": [ids],
///        "all_final", "timed_out"}.
///
/// A state: {"message_id", "status", "final", "retryable", "raw_status", "status_at",
/// "delivered_at", "error_code", "recipient", "sender", "country", "provider", "parts",
/// "cost", "tags", "sent_at", "updated_at", "history": [{"status", "raw_status", "event_at",
/// "received_at", "provider", "error_code"}, ...]} (history oldest first). "final" is true for
/// delivered, undelivered, rejected and expired; "retryable" for undelivered and expired.
///
/// Threads: `connections` workers (one PostgreSQL connection each) for lookups, sends and
/// waiter registration (registrations queued together go in one transaction), one LISTEN
/// thread that wakes local waiters, one timer thread for timeouts. A waiter costs memory only.
///
/// Work is bounded per request and per id: POST :wait takes at most `max_batch` ids; a
/// waiter is indexed, woken and removed in O(its ids) whatever else waits on the same ids
/// (it keeps its own positions in the indexes); each message read is shared by every waiter
/// it is handed to (its history is never copied per waiter) and rendered to JSON once per
/// wake-up or timeout round, whatever the number of waiters.
///
/// Thread-safety: handle() may be called from any thread at once; start()/stop() from the
/// controlling thread.
class service {
 public:
  service(status_api_config config, std::string url);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  void start();
  /// Answers every waiting long-poll with its last known state (timed out), refuses what
  /// is queued and every later request with 503, and joins the threads. Idempotent.
  void stop();

  /// Never blocks on I/O: answers through `done`, exactly once.
  void handle(const api_request& req, completion done);

  service_counters counters() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dlrd::status
