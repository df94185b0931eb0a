#include <dlrd/store/leader.hpp>

#include <pqxx/pqxx>

namespace dlrd::store {

bool leader_session::lead() {
  try {
    if (!conn_ || !conn_->is_open()) {
      reset();
      conn_ = std::make_unique<pqxx::connection>(url_);
    }
    if (!leader_) {
      pqxx::nontransaction tx(*conn_);
      leader_ = tx.exec1("SELECT pg_try_advisory_lock(" + std::to_string(lock_key_) + ")")[0].as<bool>();
    }
  } catch (...) {
    reset();
    throw;
  }
  return leader_;
}

}  // namespace dlrd::store
