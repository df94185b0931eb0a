// The `database` and `store` config sections: values, secrets from files, and range errors.
#include <dlrd/store/config.hpp>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace {

using dlrd::store::database_config;
using dlrd::store::store_config;

constexpr const char* full_config = R"yaml(
database:
  url: postgresql://dlrd@db.example/dlrd
  connect_timeout: 2s
  migrate_on_start: true
store:
  workers: 4
  batch_max: 500
  batch_linger: 20ms
  retry_backoff_max: 1m
  history: false
  synchronous_commit: true
)yaml";

void load(const std::string& text, database_config& db, store_config& st) {
  dlrd::config::load_string(text, "test.yaml", [&](dlrd::config::section& root) {
    if (auto s = root.child("database")) {
      parse(*s, db);
      s->finish();
    }
    if (auto s = root.child("store")) {
      parse(*s, st);
      s->finish();
    }
  });
}

TEST(store_config, every_key_is_read) {
  database_config db;
  store_config st;
  load(full_config, db, st);
  EXPECT_EQ(db.url, "postgresql://dlrd@db.example/dlrd");
  EXPECT_EQ(db.connect_timeout, std::chrono::seconds(2));
  EXPECT_TRUE(db.migrate_on_start);
  EXPECT_EQ(st.workers, 4);
  EXPECT_EQ(st.batch_max, 500u);
  EXPECT_EQ(st.batch_linger, std::chrono::milliseconds(20));
  EXPECT_EQ(st.retry_backoff_max, std::chrono::minutes(1));
  EXPECT_FALSE(st.history);
  EXPECT_TRUE(st.synchronous_commit);
}

TEST(store_config, asynchronous_commit_is_accepted_as_off_or_false) {
  for (const char* value : {"off", "false"}) {
    database_config db;
    store_config st;
    load(std::string("store:\n  synchronous_commit: ") + value + "\n", db, st);
    EXPECT_FALSE(st.synchronous_commit) << value;
  }
  database_config db;
  store_config st;
  load("store:\n  synchronous_commit: on\n", db, st);
  EXPECT_TRUE(st.synchronous_commit);
}

TEST(store_config, url_file_reads_the_secret_from_a_file) {
  std::string path = ::testing::TempDir() + "dlrd_store_url";
  std::ofstream(path) << "postgresql://secret@db/dlrd\n";
  database_config db;
  store_config st;
  load("database:\n  url_file: " + path + "\n", db, st);
  EXPECT_EQ(db.url, "postgresql://secret@db/dlrd");
  std::remove(path.c_str());
}

TEST(store_config, out_of_range_workers_and_unknown_keys_are_errors) {
  database_config db;
  store_config st;
  try {
    load("store:\n  workers: 0\n  batch_maxx: 3\n", db, st);
    FAIL() << "expected a config_error";
  } catch (const dlrd::config::config_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("store.workers"), std::string::npos) << what;
    EXPECT_NE(what.find("store.batch_maxx"), std::string::npos) << what;
  }
}

}  // namespace
