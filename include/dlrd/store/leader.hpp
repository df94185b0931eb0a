// One PostgreSQL session competing for a session advisory lock: the leader of a cluster of
// dlrd instances for one job (rate rules, expiry and retention).
#pragma once

#include <dlrd/store/connection.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace dlrd::store {

/// Leadership is sticky: the session keeps the lock for as long as its connection lives,
/// so instances do not flap. When the connection breaks the lock goes with it, and store
/// never replaces that session behind the owner's back (a typed function on db() then fails);
/// the next lead() reconnects and competes again, so another instance can take over within
/// a round. Not thread-safe: one owner thread.
/// How often an instance that does not lead tries the lock again, whatever its job's
/// interval (a 1 h retention job included): when the leader dies, another instance takes the
/// job within about this long, and runs it at once.
inline constexpr std::chrono::seconds leader_probe{5};

/// When a leader job runs next: after its interval while this instance leads; else within
/// leader_probe, to take over from a leader that died.
inline std::chrono::milliseconds next_run_after(std::chrono::milliseconds interval, bool leading) {
  return leading ? interval : std::min<std::chrono::milliseconds>(interval, leader_probe);
}

class leader_session {
 public:
  leader_session(std::string url, std::int64_t lock_key);
  ~leader_session();

  /// Connects when needed and tries the lock once; true while this session holds it.
  /// Throws on database errors, after dropping the connection.
  bool lead();
  bool leader() const { return leader_; }
  /// The session, for store's typed functions; valid after lead() returned (either way).
  store::connection& db() { return conn_; }
  /// Drops the connection and with it the lock (after an error in the owner's work).
  void reset();

 private:
  void set_leader(bool leader);

  store::connection conn_;
  std::int64_t lock_key_;
  bool leader_ = false;
};

/// How many sessions of this process hold the lock `lock_key` now, as far as they know (a
/// broken connection counts until its owner resets it): 0 or 1 in the daemon, which opens one
/// session per job; /metrics shows it as dlrd_leader. Thread-safe.
int sessions_leading(std::int64_t lock_key);

}  // namespace dlrd::store
