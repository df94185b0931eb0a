// The leader's session: connect, try the advisory lock once, keep it while the session lives.
#include <dlrd/store/leader.hpp>

#include "pg.hpp"

#include <map>
#include <mutex>

namespace dlrd::store {

namespace {

// Process-wide, as the lock is what instances compete for: the sessions of this process that
// hold each lock, for sessions_leading().
std::mutex held_mutex;
std::map<std::int64_t, int> held;

}  // namespace

int sessions_leading(std::int64_t lock_key) {
  std::lock_guard lock(held_mutex);
  auto it = held.find(lock_key);
  return it == held.end() ? 0 : it->second;
}

leader_session::leader_session(std::string url, std::int64_t lock_key) : conn_(std::move(url)), lock_key_(lock_key) {
  conn_.state().pinned = true;
}

leader_session::~leader_session() { set_leader(false); }  // the connection closes next, and the lock with it

void leader_session::reset() {
  conn_.close();
  set_leader(false);
}

void leader_session::set_leader(bool leader) {
  if (leader == leader_) return;
  leader_ = leader;
  std::lock_guard lock(held_mutex);
  held[lock_key_] += leader ? 1 : -1;
}

bool leader_session::lead() {
  try {
    if (!conn_.is_open()) {
      reset();
      conn_.state().open();
    }
    if (!leader_) {
      set_leader(with_retry(conn_, retry_policy{.attempts = 1}, [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        return tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(lock_key_) + ")")[0].as<bool>();
      }));
    }
  } catch (...) {
    reset();
    throw;
  }
  return leader_;
}

}  // namespace dlrd::store
