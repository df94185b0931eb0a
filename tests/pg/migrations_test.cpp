// Migrations: an empty database, adopting a seed-shaped sms_logs with rows, concurrency, check_schema.
#include <dlrd/store/migrations.hpp>

#include <dlrd/store/writer.hpp>

#include "support/pg_fixture.hpp"
#include "support/report_gen.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace {

using dlrd::test::query;

// The table as an application that predates dlrd created it.
constexpr const char* seed_schema = R"sql(
CREATE TABLE sms_logs (id SERIAL PRIMARY KEY, message_id VARCHAR(100) UNIQUE NOT NULL, recipient VARCHAR(20) NOT NULL, message TEXT, status VARCHAR(20) DEFAULT 'pending', error_code VARCHAR(50), sent_at TIMESTAMP DEFAULT NOW(), delivered_at TIMESTAMP, updated_at TIMESTAMP DEFAULT NOW());
CREATE INDEX idx_sms_logs_message_id ON sms_logs(message_id);
CREATE INDEX idx_sms_logs_status ON sms_logs(status);
)sql";

constexpr const char* seed_rows = R"sql(
INSERT INTO sms_logs (message_id, recipient, message, status, sent_at)
VALUES ('seed-1', '+37255500001', 'hello', 'sent', '2024-05-01 12:00:00'),
       ('seed-2', '+37255500002', 'code 1234', 'delivered', '2024-05-01 12:00:01');
)sql";

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const auto& m : dlrd::store::embedded_migrations()) names.push_back(m.name);
  return names;
}

class migrations_test : public dlrd::test::pg_test {
 protected:
  bool migrated() const override { return false; }

  bool has_index(const std::string& name) {
    return query(url(), "SELECT to_regclass('" + name + "') IS NOT NULL")[0][0].as<bool>();
  }
  std::string column_type(const std::string& column) {
    return query(url(), "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = 'sms_logs'::regclass AND attname = '" + column + "'")[0][0]
        .as<std::string>();
  }
  bool nullable(const std::string& column) {
    return !query(url(), "SELECT attnotnull FROM pg_attribute "
                         "WHERE attrelid = 'sms_logs'::regclass AND attname = '" + column + "'")[0][0]
                .as<bool>();
  }
};

TEST_F(migrations_test, embedded_migrations_are_numbered_and_in_order) {
  auto names = all_names();
  ASSERT_GE(names.size(), 2u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.front(), "0001_sms_logs");
}

TEST_F(migrations_test, an_empty_database_gets_every_migration_once) {
  EXPECT_EQ(dlrd::store::migrate(url()), all_names());
  EXPECT_TRUE(dlrd::store::migrate(url()).empty());
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
  EXPECT_FALSE(has_index("idx_sms_logs_message_id"));
  EXPECT_TRUE(nullable("recipient"));
  EXPECT_EQ(column_type("message_id"), "character varying(128)");
  EXPECT_EQ(column_type("status_at"), "timestamp with time zone");
}

TEST_F(migrations_test, a_seed_shaped_table_with_rows_is_adopted) {
  query(url(), seed_schema);
  query(url(), seed_rows);
  ASSERT_TRUE(has_index("idx_sms_logs_message_id"));

  EXPECT_EQ(dlrd::store::migrate(url()), all_names());

  EXPECT_FALSE(has_index("idx_sms_logs_message_id"));
  EXPECT_TRUE(nullable("recipient"));
  EXPECT_TRUE(nullable("sent_at"));
  EXPECT_EQ(column_type("message_id"), "character varying(128)");
  EXPECT_EQ(column_type("recipient"), "character varying(32)");
  for (const char* c : {"sent_at", "delivered_at", "updated_at", "status_at", "created_at"}) {
    EXPECT_EQ(column_type(c), "timestamp with time zone") << c;
  }
  for (const char* c : {"sender", "raw_status", "provider", "country", "parts", "cost"}) {
    EXPECT_NO_THROW(column_type(c)) << c;
  }
  auto rows = query(url(), "SELECT message_id, message, status, "
                           "sent_at = '2024-05-01T12:00:00Z'::timestamptz FROM sms_logs ORDER BY message_id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "seed-1");
  EXPECT_EQ(rows[0][1].as<std::string>(), "hello");
  EXPECT_EQ(rows[0][2].as<std::string>(), "sent");
  EXPECT_TRUE(rows[0][3].as<bool>()) << "naive timestamps are read as UTC";
  EXPECT_EQ(dlrd::store::check_schema(url()), "");

  // The adopted rows take reports like any other.
  dlrd::store::writer w(dlrd::store::database_config{url(), std::chrono::seconds(2), false}, {});
  std::atomic<bool> stop{false};
  std::vector<dlrd::report::ingest_record> batch{
      dlrd::test::make_report("seed-1", dlrd::report::status::delivered, "DELIVRD", 1714564805LL * 1000000)};
  EXPECT_EQ(w.write(batch, stop).rows_changed, 1u);
  auto row = query(url(), "SELECT status, recipient, message FROM sms_logs WHERE message_id = 'seed-1'");
  EXPECT_EQ(row[0][0].as<std::string>(), "delivered");
  EXPECT_EQ(row[0][1].as<std::string>(), "+37255500001");
  EXPECT_EQ(row[0][2].as<std::string>(), "hello");
}

TEST_F(migrations_test, concurrent_migrate_runs_apply_each_migration_once) {
  std::vector<std::string> a, b;
  std::thread ta([&] { a = dlrd::store::migrate(url()); });
  std::thread tb([&] { b = dlrd::store::migrate(url()); });
  ta.join();
  tb.join();
  EXPECT_EQ(a.size() + b.size(), all_names().size());
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
}

TEST_F(migrations_test, check_schema_names_the_missing_migration) {
  EXPECT_EQ(dlrd::store::check_schema(url()),
            "database schema is missing migration 0001_sms_logs; run `dlrd migrate`");
  dlrd::store::migrate(url());
  query(url(), "DELETE FROM dlr_schema_migrations WHERE name = '0002_dlrd_columns'");
  EXPECT_EQ(dlrd::store::check_schema(url()),
            "database schema is missing migration 0002_dlrd_columns; run `dlrd migrate`");
}

TEST_F(migrations_test, check_schema_names_a_migration_from_a_newer_dlrd) {
  dlrd::store::migrate(url());
  query(url(), "INSERT INTO dlr_schema_migrations (name) VALUES ('0999_future')");
  EXPECT_EQ(dlrd::store::check_schema(url()),
            "database has migration 0999_future which this dlrd does not know (a newer dlrd migrated it?)");
}

}  // namespace
