// store.synchronous_commit: off is crash-safe (issue 20): PostgreSQL crashed with
// `pg_ctl stop -m immediate` under load, then dlrd killed -9, both restarted: no acked
// report is lost, because the spool keeps a batch until PostgreSQL's WAL flush position
// has passed its commit.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_set>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

std::string report_body(const std::string& id, int n) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "2026-01-01T%02d:%02d:%02dZ", (n / 3600) % 24, (n / 60) % 60, n % 60);
  return R"({"messageId":")" + id + R"(","status":"delivered","timestamp":")" + stamp + R"("})";
}

/// Client threads posting unique ids as fast as answers come; keeps the ids answered 200.
class load_generator {
 public:
  load_generator(int port, std::string prefix, int threads) : prefix_(std::move(prefix)), acked_(threads) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, port, t] { run(port, t); });
  }
  ~load_generator() { stop(); }

  std::vector<std::string> stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::vector<std::string> all;
    for (auto& v : acked_) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

 private:
  void run(int port, int t) {
    std::unique_ptr<client> cl;
    for (int n = 0; !stop_; ++n) {
      std::string id = prefix_ + "-" + std::to_string(t) + "-" + std::to_string(n);
      try {
        if (!cl) cl = std::make_unique<client>(port);
        if (cl->post("/webhooks/smspm", report_body(id, n)).status == 200) {
          acked_[static_cast<std::size_t>(t)].push_back(id);
        }
      } catch (const std::exception&) {
        cl.reset();  // no answer: not acked
        std::this_thread::sleep_for(10ms);
      }
    }
  }

  std::string prefix_;
  std::vector<std::vector<std::string>> acked_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

/// A PostgreSQL cluster of this test's own (scripts/pg.sh), since it is crashed on purpose.
class private_cluster {
 public:
  explicit private_cluster(std::string data_dir) : dir_(std::move(data_dir)), port_(free_port()) {
    url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/dlrd";
    start();
  }
  ~private_cluster() { shell(script() + " stop " + dir_); }
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  void start() { shell(script() + " start " + dir_ + " " + std::to_string(port_), true); }
  /// A crash as far as the server's memory goes: WAL still in its buffers is lost.
  void crash() {
    std::string owner = ::geteuid() == 0 ? "runuser -u postgres -- " : "";
    shell(owner + "/usr/lib/postgresql/15/bin/pg_ctl -D " + dir_ + " -m immediate -w stop", true);
  }
  const std::string& url() const { return url_; }

 private:
  static std::string script() { return std::string(DLRD_SOURCE_DIR) + "/scripts/pg.sh"; }
  static void shell(const std::string& command, bool must_succeed = false) {
    int code = 0;
    auto out = run_command(command + " 2>&1", code);
    if (must_succeed && code != 0) throw std::runtime_error(command + " failed: " + out);
  }
  std::string dir_;
  int port_;
  std::string url_;
};

std::vector<std::string> missing_after(const std::string& url, const std::vector<std::string>& acked,
                                       std::chrono::seconds timeout) {
  std::vector<std::string> missing;
  for (auto deadline = steady::now() + timeout;;) {
    missing.clear();
    try {
      std::unordered_set<std::string> stored;
      for (const auto& row : test::query(url, "SELECT message_id FROM sms_logs")) stored.insert(row[0].as<std::string>());
      for (const auto& id : acked) {
        if (!stored.count(id)) missing.push_back(id);
      }
    } catch (const std::exception&) {
      missing = acked;  // not reachable yet
    }
    if (missing.empty() || steady::now() >= deadline) return missing;
    std::this_thread::sleep_for(200ms);
  }
}

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
