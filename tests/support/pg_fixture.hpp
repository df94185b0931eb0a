// A fresh, uniquely named PostgreSQL database per test on the server named by DLRD_TEST_PG_URL.
#pragma once

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <string>

namespace dlrd::test {

/// The server URL from DLRD_TEST_PG_URL; throws with a clear message when it is unset,
/// so that PostgreSQL tests fail (never silently skip) where no server was provided.
std::string server_url();

/// `url` with its database replaced by `database` (URL or key=value connection strings).
std::string with_database(const std::string& url, const std::string& database);

/// Runs `sql` in its own transaction on a new connection to `url` and returns the result.
pqxx::result query(const std::string& url, const std::string& sql);

/// Creates a database with a unique name, optionally applies dlrd::store::migrate, and
/// drops it (forcing other sessions out) on destruction. Not thread-safe; one per test.
class pg_database {
 public:
  explicit pg_database(bool migrated = true);
  ~pg_database();
  pg_database(const pg_database&) = delete;
  pg_database& operator=(const pg_database&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

 private:
  std::string server_;
  std::string name_;
  std::string url_;
};

/// Base fixture: `url()` is a migrated, empty database of this test's own.
class pg_test : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  /// Override to get an empty database without dlrd's schema.
  virtual bool migrated() const { return true; }
  const std::string& url() const { return db_->url(); }

 private:
  std::unique_ptr<pg_database> db_;
};

}  // namespace dlrd::test
