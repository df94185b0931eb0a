// store::connection's session, the failure classification and the retry policy's arithmetic.
#include <dlrd/store/connection.hpp>

#include "pg.hpp"

#include <algorithm>

namespace dlrd::store {

pqxx::connection& connection::impl::open() {
  if (conn && conn->is_open()) return *conn;
  close();
  auto c = std::make_unique<pqxx::connection>(url);
  ++connects;
  if (!setup.empty()) {
    pqxx::nontransaction tx(*c);
    for (const auto& statement : setup) tx.exec(statement);
  }
  conn = std::move(c);
  if (on_open) {
    try {
      on_open(*conn);
    } catch (...) {
      close();
      throw;
    }
  }
  return *conn;
}

pqxx::connection& connection::impl::use() {
  if (pinned && !(conn && conn->is_open())) throw pqxx::broken_connection("the session holding the lock was lost");
  return open();
}

void connection::impl::close() {
  if (conn && on_close) on_close();
  conn.reset();
}

connection::connection(std::string url, std::vector<std::string> setup) : impl_(std::make_unique<impl>()) {
  impl_->url = std::move(url);
  impl_->setup = std::move(setup);
}

connection::~connection() { impl_->close(); }

bool connection::is_open() const { return impl_->conn && impl_->conn->is_open(); }

void connection::close() { impl_->close(); }

std::uint64_t connection::connects() const { return impl_->connects; }

bool retry_policy::retries(failure f) const {
  switch (f) {
    case failure::broken_connection:
    case failure::transient: return true;
    case failure::unknown_outcome: return replay_safe;
    case failure::timed_out:
    case failure::other: return false;
  }
  return false;
}

std::chrono::milliseconds retry_policy::wait_after(int n) const {
  auto wait = backoff;
  for (int i = 1; i < n && wait < backoff_max; ++i) wait *= 2;
  return std::min(wait, std::max(backoff_max, std::chrono::milliseconds(0)));
}

bool drops_connection(failure f) { return f == failure::broken_connection || f == failure::unknown_outcome; }

failure classify(const pqxx::failure& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) return failure::broken_connection;
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) return failure::unknown_outcome;
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) return failure::unknown_outcome;
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) return failure::transient;
  const auto state = sqlstate_of(e);
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03") {
    return failure::broken_connection;
  }
  if (state == "40003") return failure::unknown_outcome;
  if (state.starts_with("40")) return failure::transient;
  if (state == "57014") return failure::timed_out;
  return failure::other;
}

std::string sqlstate_of(const pqxx::failure& e) {
  if (const auto* s = dynamic_cast<const pqxx::sql_error*>(&e)) return s->sqlstate();
  return {};
}

void close_if_broken(connection& c, const pqxx::failure& e, failure kind) {
  // A libpqxx failure outside any statement (not a server error, not a rollback) leaves the
  // session in a state nobody knows: start over.
  const bool from_server = dynamic_cast<const pqxx::sql_error*>(&e) || kind == failure::transient;
  if (drops_connection(kind) || !from_server || !c.is_open()) c.close();
}

std::string pg_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace dlrd::store
