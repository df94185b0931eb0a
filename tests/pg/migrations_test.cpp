// Migrations: an empty database, adopting the article's sms_logs (and an older application shape)
// with rows, upgrading a database dlrd created, concurrency, check_schema.
#include <dlrd/store/migrations.hpp>

#include <dlrd/store/writer.hpp>

#include "support/pg_fixture.hpp"
#include "support/report_gen.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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

// The seed article's "What to Store" DDL, verbatim (../shared/seed/smspm-dlr-article.txt):
// the table the people dlrd is for already have.
constexpr const char* article_schema = R"sql(
CREATE TABLE sms_logs (
id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
message_id TEXT NOT NULL UNIQUE, -- from API response
to_number TEXT NOT NULL,
from_number TEXT NOT NULL,
text_preview TEXT, -- first 50 chars, for debugging
status TEXT NOT NULL DEFAULT 'pending',
sent_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
delivered_at TIMESTAMPTZ,
parts INTEGER DEFAULT 1,
cost_eur NUMERIC(10,6),
country_code TEXT,
error_code TEXT -- populated on failure
);
CREATE INDEX ON sms_logs (message_id);
CREATE INDEX ON sms_logs (to_number, sent_at DESC);
CREATE INDEX ON sms_logs (status, sent_at DESC);
)sql";

// Send rows as an application following the article writes them.
constexpr const char* article_rows = R"sql(
INSERT INTO sms_logs (id, message_id, to_number, from_number, text_preview, sent_at, cost_eur, country_code)
VALUES ('0b6b1c52-6f0f-4a5e-9a57-1d8c2f6a0001', 'art-1', '+37255500001', 'ShopCo', 'Your code is 1234',
        '2026-11-30 10:00:00+00', 0.045, 'EE'),
       ('0b6b1c52-6f0f-4a5e-9a57-1d8c2f6a0002', 'art-2', '+4915112345678', 'ShopCo', 'Your order shipped',
        '2026-11-30 10:00:01+00', 0.069, 'DE'),
       ('0b6b1c52-6f0f-4a5e-9a57-1d8c2f6a0003', 'art-3', '+33612345678', 'Bank', 'Payment failed',
        '2026-11-30 10:00:02+00', 0.071, 'FR');
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
  EXPECT_EQ(dlrd::store::migrate(url()).applied, all_names());
  EXPECT_TRUE(dlrd::store::migrate(url()).applied.empty());
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
  EXPECT_FALSE(has_index("idx_sms_logs_message_id"));
  EXPECT_TRUE(nullable("to_number"));
  EXPECT_EQ(column_type("message_id"), "text");
  EXPECT_EQ(column_type("status_at"), "timestamp with time zone");
  EXPECT_TRUE(has_index("idx_sms_logs_status")) << "kept where no other index leads with status";
}

TEST_F(migrations_test, a_fresh_table_has_the_article_columns_names_and_types) {
  dlrd::store::migrate(url());
  const std::pair<const char*, const char*> article[] = {
      {"id", "uuid"},         {"message_id", "text"},         {"to_number", "text"},
      {"from_number", "text"}, {"text_preview", "text"},       {"status", "text"},
      {"sent_at", "timestamp with time zone"},                 {"delivered_at", "timestamp with time zone"},
      {"parts", "integer"},   {"cost_eur", "numeric(10,6)"},   {"country_code", "text"},
      {"error_code", "text"},
  };
  for (const auto& [column, type] : article) EXPECT_EQ(column_type(column), type) << column;
  for (const char* gone : {"recipient", "sender", "message", "country", "cost"}) {
    EXPECT_EQ(query(url(), std::string("SELECT count(*) FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass "
                                       "AND NOT attisdropped AND attname = '") + gone + "'")[0][0].as<int>(), 0)
        << gone << " is still a column";
  }
  // The article's defaults: a send row inserted the article's way gets a UUID and one part.
  query(url(), "INSERT INTO sms_logs (message_id, to_number, from_number) VALUES ('d-1', '+37255500001', 'X')");
  auto row = query(url(), "SELECT id IS NOT NULL, parts, status FROM sms_logs WHERE message_id = 'd-1'");
  EXPECT_TRUE(row[0][0].as<bool>());
  EXPECT_EQ(row[0][1].as<int>(), 1);
  EXPECT_EQ(row[0][2].as<std::string>(), "pending");
}

TEST_F(migrations_test, the_article_table_with_send_rows_is_adopted_and_fills_in) {
  query(url(), article_schema);
  query(url(), article_rows);
  ASSERT_TRUE(has_index("sms_logs_message_id_idx"));

  auto result = dlrd::store::migrate(url());
  EXPECT_EQ(result.applied, all_names());
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
  auto said = [&](const std::string& part) {
    return std::any_of(result.notes.begin(), result.notes.end(),
                       [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  EXPECT_TRUE(said("dropped index sms_logs_message_id_idx")) << "the duplicate index is dropped, and said so";
  EXPECT_TRUE(said("kept index sms_logs_status_sent_at_idx"));
  EXPECT_TRUE(said("kept index sms_logs_to_number_sent_at_idx"));
  EXPECT_TRUE(said("dropping NOT NULL on to_number"));
  EXPECT_TRUE(said("dropping NOT NULL on from_number"));
  EXPECT_FALSE(has_index("sms_logs_message_id_idx"));
  EXPECT_TRUE(has_index("sms_logs_to_number_sent_at_idx"));
  EXPECT_TRUE(has_index("sms_logs_status_sent_at_idx"));
  EXPECT_FALSE(has_index("idx_sms_logs_status")) << "dlrd's own (status) index would repeat the article's";
  EXPECT_EQ(column_type("id"), "uuid");
  EXPECT_EQ(column_type("cost_eur"), "numeric(10,6)");
  EXPECT_EQ(column_type("country_code"), "text");
  EXPECT_TRUE(nullable("to_number"));
  EXPECT_TRUE(nullable("from_number"));

  // Reports for the three sends, and two for messages never logged (one with no number at all,
  // as an SMPP receipt gives it).
  using dlrd::report::status;
  using dlrd::test::make_report;
  const std::int64_t at = 1764496830LL * 1000000;  // 2026-11-30T10:00:30Z
  auto delivered = make_report("art-1", status::delivered, "DELIVRD", at);
  delivered.recipient = "+37299999999";  // a report never overwrites the application's values
  auto failed = make_report("art-3", status::undelivered, "UNDELIV", at, "27");
  auto orphan = make_report("orphan-1", status::delivered, "DELIVRD", at);
  orphan.recipient = "+37255500009";
  auto bare = make_report("orphan-2", status::rejected, "REJECTD", at, "62");
  bare.recipient.reset();
  std::vector<dlrd::report::ingest_record> batch{delivered, failed, orphan, bare,
                                                 make_report("art-2", status::pending, "ENROUTE", at)};
  dlrd::store::writer w(dlrd::store::database_config{url(), std::chrono::seconds(2), false}, {});
  std::atomic<bool> stop{false};
  w.write(batch, stop);

  auto rows = query(url(),
      "SELECT message_id, id::text, to_number, from_number, text_preview, to_char(sent_at AT TIME ZONE 'UTC', "
      "'YYYY-MM-DD HH24:MI:SS'), cost_eur::text, country_code, status, error_code, delivered_at IS NOT NULL, parts "
      "FROM sms_logs ORDER BY message_id");
  ASSERT_EQ(rows.size(), 5u);
  auto col = [&](int r, int c) { return rows[r][c].is_null() ? std::string("NULL") : rows[r][c].as<std::string>(); };
  // art-1: every application value kept, delivery columns filled.
  EXPECT_EQ(col(0, 1), "0b6b1c52-6f0f-4a5e-9a57-1d8c2f6a0001");
  EXPECT_EQ(col(0, 2), "+37255500001");
  EXPECT_EQ(col(0, 3), "ShopCo");
  EXPECT_EQ(col(0, 4), "Your code is 1234");
  EXPECT_EQ(col(0, 5), "2026-11-30 10:00:00");
  EXPECT_EQ(col(0, 6), "0.045000");
  EXPECT_EQ(col(0, 7), "EE");
  EXPECT_EQ(col(0, 8), "delivered");
  EXPECT_EQ(col(0, 10), "t");
  EXPECT_EQ(col(0, 11), "1");
  // art-2 still pending, art-3 failed with its code.
  EXPECT_EQ(col(1, 8), "pending");
  EXPECT_EQ(col(1, 10), "f");
  EXPECT_EQ(col(2, 8), "undelivered");
  EXPECT_EQ(col(2, 9), "27");
  EXPECT_EQ(col(2, 4), "Payment failed");
  // The orphans are stored with what the reports carry.
  EXPECT_EQ(col(3, 0), "orphan-1");
  EXPECT_EQ(col(3, 8), "delivered");
  EXPECT_EQ(col(3, 7), "EE") << "the country comes from the reported number when the application gave none";
  EXPECT_EQ(col(4, 0), "orphan-2");
  EXPECT_EQ(col(4, 2), "NULL");
  EXPECT_EQ(col(4, 8), "rejected");
  EXPECT_NE(col(3, 1), "NULL") << "a row a report creates gets a UUID";

  // The application keeps logging sends its own way, and through dlr_log_send.
  query(url(), "INSERT INTO sms_logs (message_id, to_number, from_number) VALUES ('art-4', '+37255500004', 'ShopCo')");
  query(url(), "SELECT dlr_log_send('art-5', '+37255500005', 'ShopCo', 'hi', now(), 1, 0.05, 'EE')");
  EXPECT_EQ(query(url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>(), 7);
}

TEST_F(migrations_test, a_database_dlrd_created_moves_to_the_article_names_with_its_data) {
  // Today's schema (everything up to 0012) with rows written under the old names.
  dlrd::store::migrate(url(), "0012_quarantine_key");
  query(url(),
        "INSERT INTO sms_logs (message_id, recipient, sender, message, country, cost, parts, status, raw_status, "
        "status_at, provider, error_code, sent_at, failure_notice_txid) VALUES "
        "('old-1', '+37255500001', 'ShopCo', 'hello', 'EE', 0.04500, 1, 'undelivered', 'UNDELIV', "
        " '2026-11-30 10:00:30+00', 'smspm', '27', '2026-11-30 10:00:00+00', txid_current()), "
        "('old-2', '+4915112345678', NULL, NULL, 'DE', NULL, NULL, 'pending', 'ENROUTE', NULL, 'smspm', NULL, "
        " '2026-11-30 10:00:01+00', NULL)");
  const auto old_ids = query(url(), "SELECT id FROM sms_logs ORDER BY message_id");

  auto result = dlrd::store::migrate(url());
  ASSERT_FALSE(result.applied.empty());
  EXPECT_EQ(result.applied.front(), "0013_article_columns");
  EXPECT_TRUE(result.notes.empty()) << "nothing of an application's was changed";
  EXPECT_EQ(dlrd::store::check_schema(url()), "");

  auto rows = query(url(),
      "SELECT message_id, id::text, to_number, from_number, text_preview, country_code, cost_eur::text, parts, "
      "status, raw_status, error_code, failure_notice_mark IS NOT NULL FROM sms_logs ORDER BY message_id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][1].as<std::string>(),
            "00000000-0000-0000-0000-" + std::string(12 - 1, '0') + std::to_string(old_ids[0][0].as<int>()))
      << "the old integer id stays readable in the UUID";
  EXPECT_EQ(rows[0][2].as<std::string>(), "+37255500001");
  EXPECT_EQ(rows[0][3].as<std::string>(), "ShopCo");
  EXPECT_EQ(rows[0][4].as<std::string>(), "hello");
  EXPECT_EQ(rows[0][5].as<std::string>(), "EE");
  EXPECT_EQ(rows[0][6].as<std::string>(), "0.045000");
  EXPECT_EQ(rows[0][8].as<std::string>(), "undelivered");
  EXPECT_EQ(rows[0][10].as<std::string>(), "27");
  EXPECT_TRUE(rows[0][11].as<bool>()) << "the notice marker is kept: no second notice after the upgrade";
  EXPECT_EQ(rows[1][5].as<std::string>(), "DE");
  EXPECT_TRUE(rows[1][3].is_null());

  // A second run changes nothing: the schema and the rows are the same.
  auto snapshot = [&] {
    std::string out;
    for (const auto& r : query(url(), "SELECT attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull "
                                      "FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass AND attnum > 0 "
                                      "AND NOT attisdropped ORDER BY attnum")) {
      out += r[0].as<std::string>() + "\n";
    }
    for (const auto& r : query(url(), "SELECT indexdef FROM pg_indexes WHERE tablename = 'sms_logs' ORDER BY 1")) {
      out += r[0].as<std::string>() + "\n";
    }
    for (const auto& r : query(url(), "SELECT md5(string_agg(s::text, ',' ORDER BY message_id)) FROM sms_logs s")) {
      out += r[0].as<std::string>();
    }
    return out;
  };
  const auto before = snapshot();
  EXPECT_TRUE(dlrd::store::migrate(url()).applied.empty());
  EXPECT_EQ(snapshot(), before);

  // The upgraded table takes reports: old-2 fails and is noticed once; old-1 is not noticed again.
  using dlrd::report::status;
  const std::int64_t at = 1764496900LL * 1000000;
  std::vector<dlrd::report::ingest_record> batch{
      dlrd::test::make_report("old-1", status::rejected, "REJECTD", at, "62"),
      dlrd::test::make_report("old-2", status::expired, "EXPIRED", at)};
  dlrd::store::writer w(dlrd::store::database_config{url(), std::chrono::seconds(2), false}, {});
  std::atomic<bool> stop{false};
  EXPECT_EQ(w.write(batch, stop).notices, 1u);
}

TEST_F(migrations_test, a_seed_shaped_table_with_rows_is_adopted) {
  query(url(), seed_schema);
  query(url(), seed_rows);
  ASSERT_TRUE(has_index("idx_sms_logs_message_id"));

  EXPECT_EQ(dlrd::store::migrate(url()).applied, all_names());

  EXPECT_FALSE(has_index("idx_sms_logs_message_id"));
  EXPECT_TRUE(nullable("to_number"));
  EXPECT_TRUE(nullable("sent_at"));
  EXPECT_EQ(column_type("message_id"), "text");
  EXPECT_EQ(column_type("to_number"), "text");
  for (const char* c : {"sent_at", "delivered_at", "updated_at", "status_at", "created_at"}) {
    EXPECT_EQ(column_type(c), "timestamp with time zone") << c;
  }
  for (const char* c : {"from_number", "raw_status", "provider", "country_code", "parts", "cost_eur"}) {
    EXPECT_NO_THROW(column_type(c)) << c;
  }
  auto rows = query(url(), "SELECT message_id, text_preview, status, "
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
  auto row = query(url(), "SELECT status, to_number, text_preview FROM sms_logs WHERE message_id = 'seed-1'");
  EXPECT_EQ(row[0][0].as<std::string>(), "delivered");
  EXPECT_EQ(row[0][1].as<std::string>(), "+37255500001");
  EXPECT_EQ(row[0][2].as<std::string>(), "hello");
}

TEST_F(migrations_test, concurrent_migrate_runs_apply_each_migration_once) {
  std::vector<std::string> a, b;
  std::thread ta([&] { a = dlrd::store::migrate(url()).applied; });
  std::thread tb([&] { b = dlrd::store::migrate(url()).applied; });
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
