// store.synchronous_commit: off is crash-safe (issue 20): PostgreSQL crashed with
// `pg_ctl stop -m immediate` under load, then dlrd killed -9, both restarted: no acked
// report is lost, because the spool keeps a batch until PostgreSQL's WAL flush position
// has passed its commit.
#include "cluster.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <csignal>
#include <cstdio>
#include <random>
#include <thread>
#include <vector>

#include <sys/stat.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

TEST(async_commit, acked_reports_survive_a_postgresql_crash_and_a_kill_9_under_load) {
  temp_dir dir;
  ::chmod(dir.path().c_str(), 0755);  // pg.sh runs the cluster as the postgres user
  private_cluster pg(dir.path() + "/pg");
  // The walwriter flushes async commits every wal_writer_delay; a long one leaves a wide
  // window of unflushed commits at each crash, which the spool must still hold.
  {
    pqxx::connection c(pg.url());
    pqxx::nontransaction tx(c);
    tx.exec0("ALTER SYSTEM SET wal_writer_delay = '1s'");
    tx.exec("SELECT pg_reload_conf()");
  }
  const std::string store = "store:\n  synchronous_commit: off\n";
  {
    daemon m(dir.path(), pg.url(), store);
    int code = 0;
    auto out = run_command(std::string(DLRD_BINARY) + " migrate --config " + m.config_path() + " 2>&1", code);
    ASSERT_EQ(code, 0) << out;
  }
  const unsigned seed = std::random_device{}() % 1000000;
  std::printf("async commit: seed %u\n", seed);
  std::mt19937 rng(seed);
  std::vector<std::string> acked;
  for (int round = 0; round < 3; ++round) {
    daemon d(dir.path(), pg.url(), store);
    d.start();
    ASSERT_TRUE(d.wait_ready()) << d.log();
    load_generator load(d.port(), "async" + std::to_string(seed) + "-" + std::to_string(round), 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500 + rng() % 1000));
    pg.crash();
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 400));  // acks go on into the spool
    d.signal(SIGKILL);
    EXPECT_EQ(d.wait_exit(10s), -SIGKILL);
    auto ids = load.stop();
    std::printf("async commit: round %d, %zu acked\n", round + 1, ids.size());
    acked.insert(acked.end(), ids.begin(), ids.end());
    pg.start();
  }
  ASSERT_GT(acked.size(), 0u);

  daemon last(dir.path(), pg.url(), store);
  last.start();
  ASSERT_TRUE(last.wait_ready()) << last.log();
  auto missing = missing_after(pg.url(), acked, 90s);
  EXPECT_TRUE(missing.empty()) << missing.size() << " acked id(s) missing from sms_logs, e.g. "
                               << (missing.empty() ? "" : missing.front()) << "\n" << last.log();
  std::printf("async commit: %zu acked over 3 PostgreSQL crashes and kill -9s, %zu missing\n", acked.size(),
              missing.size());
  last.signal(SIGTERM);
  EXPECT_EQ(last.wait_exit(30s), 0) << last.log();
}

}  // namespace
}  // namespace dlrd::e2e
