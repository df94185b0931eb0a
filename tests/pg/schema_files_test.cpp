// Checksummed migrations and repeatable function files (sql/functions/): an edited migration
// is refused, a changed function file is applied again, an index on a changed IMMUTABLE
// function is rebuilt, and a tracking table from before checksums gets them once.
#include <dlrd/store/migrations.hpp>

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <stdexcept>

namespace {

using dlrd::store::migration;
using dlrd::store::schema_files;
using dlrd::test::query;

std::vector<std::string> function_names() {
  std::vector<std::string> names;
  for (const auto& f : dlrd::store::embedded_functions()) names.push_back(f.name);
  return names;
}

// The shipped files with one of them edited: new text, new checksum.
schema_files with_edit(const std::string& name, const std::string& from, const std::string& to) {
  schema_files files;
  for (auto* list : {&files.numbered, &files.functions}) {
    for (auto& m : *list) {
      if (m.name != name) continue;
      auto at = m.sql.find(from);
      if (at == std::string::npos) throw std::logic_error(name + " has no '" + from + "'");
      m.sql.replace(at, from.size(), to);
      m.checksum = std::string(64, 'e');
      return files;
    }
  }
  throw std::logic_error("no file " + name);
}

class schema_files_test : public dlrd::test::pg_test {
 protected:
  std::string scalar(const std::string& sql) { return query(url(), sql)[0][0].as<std::string>(); }
  std::string migrate_error(const schema_files& files) {
    try {
      dlrd::store::migrate(url(), files);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "(migrate succeeded)";
  }
};

TEST(schema_files, function_files_define_only_the_functions_they_are_named_after) {
  const std::regex create(R"(CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+))", std::regex::icase);
  ASSERT_FALSE(dlrd::store::embedded_functions().empty());
  for (const auto& f : dlrd::store::embedded_functions()) {
    ASSERT_TRUE(f.name.starts_with("functions/")) << f.name;
    int found = 0;
    for (std::sregex_iterator it(f.sql.begin(), f.sql.end(), create), end; it != end; ++it, ++found) {
      EXPECT_EQ("functions/" + (*it)[1].str(), f.name) << "a function file holds its own name's overloads only";
    }
    EXPECT_GT(found, 0) << f.name;
  }
}

TEST_F(schema_files_test, shipped_checksums_are_the_sha256_of_the_embedded_text) {
  pqxx::connection conn(url());
  pqxx::work tx(conn);
  for (const auto* list : {&dlrd::store::embedded_migrations(), &dlrd::store::embedded_functions()}) {
    for (const auto& m : *list) {
      EXPECT_EQ(tx.exec_params1("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", m.sql)[0].as<std::string>(),
                m.checksum)
          << m.name;
    }
  }
}

TEST_F(schema_files_test, a_migrated_database_records_every_file_with_its_checksum) {
  for (const auto* list : {&dlrd::store::embedded_migrations(), &dlrd::store::embedded_functions()}) {
    for (const auto& m : *list) {
      EXPECT_EQ(scalar("SELECT checksum FROM dlr_schema_migrations WHERE name = '" + m.name + "'"), m.checksum);
    }
  }
  auto again = dlrd::store::migrate(url());
  EXPECT_TRUE(again.applied.empty());
  EXPECT_TRUE(again.functions.empty()) << "an unchanged function file is not applied again";
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
}

TEST_F(schema_files_test, an_edited_migration_is_refused_by_migrate_and_serve_naming_the_file) {
  auto files = with_edit("0004_dlr_log_send", "LANGUAGE sql VOLATILE", "LANGUAGE sql STABLE");
  const std::string said = "migration sql/0004_dlr_log_send.sql differs from the one applied to this database";
  EXPECT_NE(migrate_error(files).find(said), std::string::npos) << migrate_error(files);
  EXPECT_NE(dlrd::store::check_schema(url(), files).find(said), std::string::npos);
  EXPECT_EQ(dlrd::store::check_schema(url()), "") << "the shipped files still match";
}

TEST_F(schema_files_test, a_tracking_table_without_checksums_gets_them_on_the_first_run) {
  // The table as dlrd left it before checksums and function files existed.
  query(url(), "ALTER TABLE dlr_schema_migrations DROP COLUMN checksum; "
               "DELETE FROM dlr_schema_migrations WHERE name LIKE 'functions/%'");
  EXPECT_NE(dlrd::store::check_schema(url()), "") << "serve waits for `dlrd migrate`";
  auto result = dlrd::store::migrate(url());
  EXPECT_TRUE(result.applied.empty());
  EXPECT_EQ(result.functions, function_names());
  EXPECT_TRUE(result.reindexed.empty()) << "the function files define what the migrations did";
  EXPECT_EQ(scalar("SELECT count(*) FROM dlr_schema_migrations WHERE checksum IS NULL"), "0");
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
  // From now on an edit is seen.
  auto files = with_edit("0001_sms_logs", "CREATE TABLE", "CREATE TABLE ");
  EXPECT_NE(migrate_error(files).find("sql/0001_sms_logs.sql"), std::string::npos);
}

TEST_F(schema_files_test, a_changed_function_file_is_applied_again_without_rebuilding_indexes) {
  auto files = with_edit("functions/dlr_log_send", "updated_at = now()\n$$;", "updated_at = clock_timestamp()\n$$;");
  EXPECT_EQ(dlrd::store::check_schema(url(), files),
            "function file sql/functions/dlr_log_send.sql differs from the one applied to the database; run `dlrd migrate`");
  auto result = dlrd::store::migrate(url(), files);
  EXPECT_TRUE(result.applied.empty());
  EXPECT_EQ(result.functions, std::vector<std::string>{"functions/dlr_log_send"});
  EXPECT_TRUE(result.reindexed.empty()) << "dlr_log_send is VOLATILE: no index can call it";
  EXPECT_NE(scalar("SELECT prosrc FROM pg_proc WHERE proname = 'dlr_log_send' AND pronargs = 10")
                .find("clock_timestamp()"),
            std::string::npos);
  EXPECT_EQ(dlrd::store::check_schema(url(), files), "");
  // The shipped file again, as after a downgrade of that file.
  EXPECT_EQ(dlrd::store::migrate(url()).functions, std::vector<std::string>{"functions/dlr_log_send"});
  EXPECT_EQ(dlrd::store::check_schema(url()), "");
}

TEST_F(schema_files_test, an_immutable_function_changed_under_a_partial_index_rebuilds_the_index) {
  // idx_sms_logs_pending_since is partial on dlr_status_class(status) = 0. Its entries were
  // chosen by the old definition; an index scan does not re-check the predicate, so a stale
  // index answers with rows the new definition excludes.
  query(url(), "INSERT INTO sms_logs (message_id, status, sent_at) "
               "SELECT 'm' || g, CASE WHEN g % 2 = 0 THEN 'sent' ELSE 'pending' END, now() - interval '1 hour' "
               "  FROM generate_series(1, 200) g; ANALYZE sms_logs");
  const auto node = [&] { return scalar("SELECT relfilenode FROM pg_class WHERE relname = 'idx_sms_logs_pending_since'"); };
  const auto before = node();
  auto files = with_edit("functions/dlr_status_class", "WHEN 'rejected' THEN 1",
                         "WHEN 'rejected' THEN 1\n           WHEN 'sent' THEN 1");
  auto result = dlrd::store::migrate(url(), files);
  EXPECT_EQ(result.functions, std::vector<std::string>{"functions/dlr_status_class"});
  EXPECT_EQ(result.reindexed, std::vector<std::string>{"idx_sms_logs_pending_since"});
  EXPECT_NE(node(), before);

  pqxx::connection conn(url());
  pqxx::work tx(conn);
  tx.exec("SET LOCAL enable_seqscan = off");
  tx.exec("SET LOCAL enable_bitmapscan = off");
  const std::string pending = "SELECT count(*) FROM sms_logs WHERE dlr_status_class(status) = 0 "
                              "AND coalesce(sent_at, created_at) < now()";
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN " + pending)) plan += row[0].as<std::string>() + "\n";
  EXPECT_NE(plan.find("idx_sms_logs_pending_since"), std::string::npos) << plan;
  EXPECT_EQ(tx.exec1(pending)[0].as<int>(), 100) << "the rebuilt index holds only what the new definition selects";
  tx.commit();

  // Back to the shipped definition: rebuilt again.
  EXPECT_EQ(dlrd::store::migrate(url()).reindexed, std::vector<std::string>{"idx_sms_logs_pending_since"});
}

TEST_F(schema_files_test, a_function_file_from_a_newer_dlrd_is_refused) {
  query(url(), "INSERT INTO dlr_schema_migrations (name, checksum) VALUES ('functions/dlr_future', 'x')");
  const std::string said =
      "database has function file sql/functions/dlr_future.sql which this dlrd does not know (a newer dlrd migrated it?)";
  EXPECT_EQ(dlrd::store::check_schema(url()), said);
  EXPECT_EQ(migrate_error(schema_files{}), said) << "applying older function files would downgrade them";
}

}  // namespace
