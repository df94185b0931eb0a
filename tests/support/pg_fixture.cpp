// Creates and drops the per-test PostgreSQL databases.
#include "support/pg_fixture.hpp"

#include <dlrd/store/migrations.hpp>

#include <pqxx/pqxx>

#include <atomic>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <unistd.h>

namespace dlrd::test {

std::string server_url() {
  const char* url = std::getenv("DLRD_TEST_PG_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "DLRD_TEST_PG_URL is not set: PostgreSQL tests need a server, e.g. "
        "DLRD_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/dlrd (scripts/pg.sh start DIR PORT prints one)");
  }
  return url;
}

std::string with_database(const std::string& url, const std::string& database) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return url + " dbname=" + database;
  auto query = url.find('?', scheme + 3);
  auto path = url.find('/', scheme + 3);
  if (path != std::string::npos && query != std::string::npos && path > query) path = std::string::npos;
  auto host_end = path != std::string::npos ? path : (query != std::string::npos ? query : url.size());
  std::string rest = query != std::string::npos ? url.substr(query) : std::string{};
  return url.substr(0, host_end) + "/" + database + rest;
}

pqxx::result query(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::work tx(conn);
  auto result = tx.exec(sql);
  tx.commit();
  return result;
}

namespace {

std::string unique_name() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return "dlrd_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
         std::to_string(rd() % 1000000);
}

void admin_exec(const std::string& server, const std::string& sql) {
  pqxx::connection conn(with_database(server, "postgres"));
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

}  // namespace

pg_database::pg_database(bool migrated) : server_(server_url()), name_(unique_name()) {
  admin_exec(server_, "CREATE DATABASE " + name_);
  url_ = with_database(server_, name_);
  if (migrated) {
    try {
      dlrd::store::migrate(url_);
    } catch (...) {
      admin_exec(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
      throw;
    }
  }
}

pg_database::~pg_database() {
  try {
    admin_exec(server_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception& e) {
    ADD_FAILURE() << "could not drop test database " << name_ << ": " << e.what();
  }
}

void pg_test::SetUp() {
  try {
    db_ = std::make_unique<pg_database>(migrated());
  } catch (const std::exception& e) {
    GTEST_FAIL() << e.what();
  }
}

void pg_test::TearDown() { db_.reset(); }

}  // namespace dlrd::test
