// The leader's session: connect, try the advisory lock once, keep it while the session lives.
#include <dlrd/store/leader.hpp>

#include "pg.hpp"

namespace dlrd::store {

leader_session::leader_session(std::string url, std::int64_t lock_key) : conn_(std::move(url)), lock_key_(lock_key) {
  conn_.state().pinned = true;
}

bool leader_session::lead() {
  try {
    if (!conn_.is_open()) {
      reset();
      conn_.state().open();
    }
    if (!leader_) {
      leader_ = with_retry(conn_, retry_policy{.attempts = 1}, [&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        return tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(lock_key_) + ")")[0].as<bool>();
      });
    }
  } catch (...) {
    reset();
    throw;
  }
  return leader_;
}

}  // namespace dlrd::store
