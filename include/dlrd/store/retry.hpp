// The one retry policy of every PostgreSQL call (libpqxx's transactor idea): which failures
// are retried, after what wait, and what counts as a broken connection.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace dlrd::store {

/// A database failure as the retry policy sees it.
enum class failure {
  /// The session is gone or was refused: libpqxx's broken_connection, SQLSTATE class 08, or
  /// the server shutting the backend down (57P01, 57P02, 57P03). The connection is dropped
  /// and the call retried on a new one.
  broken_connection,
  /// The commit may or may not have happened (libpqxx's in_doubt_error, SQLSTATE 40003).
  /// The connection is dropped; the call is retried only when replaying it is harmless.
  unknown_outcome,
  /// Rolled back by the server and safe to run again: serialization failure (40001),
  /// deadlock (40P01), and any other class 40 rollback.
  transient,
  /// statement_timeout or a cancel (57014): retrying would only wait as long again.
  timed_out,
  /// Anything else (bad data, a constraint, a bug): retrying gives the same answer. The
  /// connection is dropped only when libpqxx failed outside a statement (its state unknown).
  other,
};

/// How a call retries. The defaults reconnect once after a broken connection (or rerun once
/// after a serialization failure or deadlock) and then give up, so a caller waiting on it
/// answers within two attempts.
struct retry_policy {
  int attempts = 2;                               ///< tries in all, the first included (>= 1)
  std::chrono::milliseconds backoff{50};          ///< wait before the second try; doubles after
  std::chrono::milliseconds backoff_max{5000};
  /// The call is idempotent (upserts keyed on the message, reads): a commit whose outcome is
  /// unknown may be run again. Never set it for a call that a replay would apply twice.
  bool replay_safe = false;

  /// Whether a failure of this kind is tried again (attempts left aside).
  bool retries(failure f) const;
  /// The wait after failed attempt `n` (1-based): backoff * 2^(n-1), at most backoff_max.
  std::chrono::milliseconds wait_after(int n) const;
};

/// Whether store closes the connection after a failure of this kind.
bool drops_connection(failure f);

/// What store's typed functions throw once the policy gives up on a database failure.
/// what() is the server's (or libpq's) message, unchanged.
class database_error : public std::runtime_error {
 public:
  database_error(failure kind, std::string sqlstate, const std::string& what)
      : std::runtime_error(what), kind_(kind), sqlstate_(std::move(sqlstate)) {}
  failure kind() const { return kind_; }
  /// Five characters, or empty when the failure did not come from a statement.
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  failure kind_;
  std::string sqlstate_;
};

}  // namespace dlrd::store
