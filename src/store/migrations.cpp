// Applies and checks the embedded schema migrations (sql/*.sql), tracked in dlr_schema_migrations.
#include <dlrd/store/migrations.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <set>

namespace dlrd::store {

namespace {

// Fixed key shared by every dlrd: concurrent `dlrd migrate` runs apply each migration once.
constexpr long long migrate_lock_key = 0x646c7264'6d696772;  // "dlrdmigr"

constexpr const char* create_tracking_table =
    "CREATE TABLE IF NOT EXISTS dlr_schema_migrations ("
    "  name text PRIMARY KEY,"
    "  applied_at timestamptz DEFAULT now())";

std::set<std::string> applied_names(pqxx::transaction_base& tx) {
  std::set<std::string> names;
  for (const auto& row : tx.exec("SELECT name FROM dlr_schema_migrations")) {
    names.insert(row[0].as<std::string>());
  }
  return names;
}

}  // namespace

std::vector<std::string> migrate(const std::string& url) {
  pqxx::connection conn(url);
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(migrate_lock_key) + ")");
    tx.exec(create_tracking_table);
  }
  std::vector<std::string> applied;
  std::set<std::string> done;
  {
    pqxx::read_transaction tx(conn);
    done = applied_names(tx);
  }
  for (const auto& m : embedded_migrations()) {
    if (done.contains(m.name)) continue;
    pqxx::work tx(conn);
    tx.exec(m.sql, m.name);
    tx.exec_params("INSERT INTO dlr_schema_migrations (name) VALUES ($1)", m.name);
    tx.commit();
    spdlog::info("store: applied migration {}", m.name);
    applied.push_back(m.name);
  }
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migrate_lock_key) + ")");
  }
  return applied;
}

std::string check_schema(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::read_transaction tx(conn);
  std::set<std::string> in_db;
  if (tx.exec1("SELECT to_regclass('dlr_schema_migrations') IS NOT NULL")[0].as<bool>()) {
    in_db = applied_names(tx);
  }
  std::set<std::string> known;
  for (const auto& m : embedded_migrations()) {
    known.insert(m.name);
    if (!in_db.contains(m.name)) {
      return "database schema is missing migration " + m.name + "; run `dlrd migrate`";
    }
  }
  for (const auto& name : in_db) {
    if (!known.contains(name)) {
      return "database has migration " + name + " which this dlrd does not know (a newer dlrd migrated it?)";
    }
  }
  return {};
}

}  // namespace dlrd::store
