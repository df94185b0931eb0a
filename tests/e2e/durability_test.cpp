// Black-box proof of DESIGN.md invariants 1 and 2: kill -9, PostgreSQL outage, full spool, spool inspect.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <sys/stat.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  int n = std::atoi(v);
  return n > 0 ? n : fallback;
}

/// A fixed event time per id (2026-01-01 plus `second`), so a replayed report dedupes in dlr_events.
std::string timestamp(int second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-01-01T%02d:%02d:%02dZ", second / 3600, (second / 60) % 60, second % 60);
  return buf;
}

std::string report_body(const std::string& id, int second) {
  return R"({"messageId":")" + id + R"(","status":"delivered","timestamp":")" + timestamp(second % 86400) + R"("})";
}

std::string run_tag() { return std::to_string(std::random_device{}() % 1000000); }

/// Inserts indented `lines` right after the `section:` line of the generated config.
void add_to_section(const std::string& config_path, const std::string& section, const std::string& lines) {
  std::ifstream in(config_path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  auto at = text.find("\n" + section + ":\n");
  if (at == std::string::npos) throw std::runtime_error("no section " + section + " in " + config_path);
  text.insert(at + section.size() + 3, lines);
  std::ofstream(config_path, std::ios::trunc) << text;
}

long long count_of(const std::string& url, const std::string& sql) {
  return test::query(url, sql)[0][0].as<long long>();
}

std::unordered_set<std::string> stored_ids(const std::string& url) {
  std::unordered_set<std::string> out;
  for (const auto& row : test::query(url, "SELECT message_id FROM sms_logs")) out.insert(row[0].as<std::string>());
  return out;
}

/// Polls until every id in `ids` is in sms_logs or `timeout` passes; returns the ids still missing.
/// Connection errors count as "not yet" (the database may be restarting).
std::vector<std::string> wait_until_stored(const std::string& url, const std::vector<std::string>& ids,
                                           std::chrono::seconds timeout) {
  auto deadline = steady::now() + timeout;
  for (;;) {
    bool last = steady::now() >= deadline;
    try {
      if (last || count_of(url, "SELECT count(*) FROM sms_logs") >= static_cast<long long>(ids.size())) {
        auto stored = stored_ids(url);
        std::vector<std::string> missing;
        for (const auto& id : ids) {
          if (!stored.count(id)) missing.push_back(id);
        }
        if (missing.empty() || last) return missing;
      }
    } catch (const std::exception&) {
      if (last) return ids;
    }
    std::this_thread::sleep_for(200ms);
  }
}

std::string describe_missing(const std::vector<std::string>& missing) {
  std::string out = std::to_string(missing.size()) + " acked id(s) missing from sms_logs, e.g.";
  for (std::size_t i = 0; i < missing.size() && i < 5; ++i) out += " " + missing[i];
  return out;
}

/// Client threads posting unique ids (`prefix-thread-n`) as fast as answers come; each records
/// the ids that got 200. While `mark(true)`, requests are also counted separately (an outage window).
class load_generator {
 public:
  load_generator(int port, std::string prefix, int threads) : prefix_(std::move(prefix)), acked_(threads) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, port, t] { run(port, t); });
  }
  ~load_generator() { stop(); }

  void mark(bool on) { marked_ = on; }

  /// Stops and joins the threads; returns every id that got 200.
  std::vector<std::string> stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    std::vector<std::string> all;
    for (auto& v : acked_) all.insert(all.end(), v.begin(), v.end());
    return all;
  }

  long long non_200() const { return non_200_; }
  long long failed_exchanges() const { return failed_; }
  long long marked_requests() const { return marked_requests_; }
  long long marked_acks() const { return marked_acks_; }
  long long marked_non_200() const { return marked_non_200_; }
  long long marked_failed() const { return marked_failed_; }
  double marked_max_ack_gap_seconds() const { return static_cast<double>(marked_max_gap_us_) / 1e6; }
  std::string first_non_200() const {
    std::lock_guard lock(m_);
    return first_non_200_;
  }

 private:
  void run(int port, int t) {
    std::unique_ptr<client> cl;
    auto last_ack = steady::now();
    for (int n = 0; !stop_; ++n) {
      std::string id = prefix_ + "-" + std::to_string(t) + "-" + std::to_string(n);
      bool marked = marked_;
      try {
        if (!cl) cl = std::make_unique<client>(port);
        auto r = cl->post("/webhooks/smspm", report_body(id, n));
        marked = marked || marked_;
        if (marked) ++marked_requests_;
        if (r.status == 200) {
          acked_[static_cast<std::size_t>(t)].push_back(id);
          auto now = steady::now();
          if (marked) {
            ++marked_acks_;
            auto gap = std::chrono::duration_cast<std::chrono::microseconds>(now - last_ack).count();
            long long seen = marked_max_gap_us_;
            while (gap > seen && !marked_max_gap_us_.compare_exchange_weak(seen, gap)) {
            }
          }
          last_ack = now;
        } else {
          ++non_200_;
          if (marked) ++marked_non_200_;
          std::lock_guard lock(m_);
          if (first_non_200_.empty()) first_non_200_ = std::to_string(r.status) + " " + r.body;
        }
      } catch (const std::exception&) {
        // No answer (the server is gone or the connection broke): not acked.
        cl.reset();
        ++failed_;
        if (marked || marked_) ++marked_failed_;
        std::this_thread::sleep_for(10ms);
      }
    }
  }

  std::string prefix_;
  std::vector<std::vector<std::string>> acked_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> marked_{false};
  std::atomic<long long> non_200_{0}, failed_{0};
  std::atomic<long long> marked_requests_{0}, marked_acks_{0}, marked_non_200_{0}, marked_failed_{0};
  std::atomic<long long> marked_max_gap_us_{0};
  mutable std::mutex m_;
  std::string first_non_200_;
};

/// A PostgreSQL cluster of this test's own (scripts/pg.sh), so it can be stopped and started
/// without touching the shared server; stopped by the destructor whatever happened.
class private_cluster {
 public:
  explicit private_cluster(std::string data_dir) : dir_(std::move(data_dir)), port_(free_port()) {
    url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/dlrd";
    try {
      start();
    } catch (...) {
      stop();
      throw;
    }
  }
  ~private_cluster() { stop(); }
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  void start() {
    int code = 0;
    auto out = run_command(script() + " start " + dir_ + " " + std::to_string(port_) + " 2>&1", code);
    if (code != 0) throw std::runtime_error("pg.sh start failed (" + std::to_string(code) + "): " + out);
  }
  void stop() {
    int code = 0;
    run_command(script() + " stop " + dir_ + " 2>&1", code);
  }
  const std::string& url() const { return url_; }

 private:
  static std::string script() { return std::string(DLRD_SOURCE_DIR) + "/scripts/pg.sh"; }
  std::string dir_;
  int port_;
  std::string url_;
};

class durability : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(durability, acked_reports_survive_twenty_kill_9s_under_load) {
  test::pg_database db;
  const int iterations = env_int("DLRD_KILL_ITERATIONS", 20);
  const unsigned seed = static_cast<unsigned>(env_int("DLRD_KILL_SEED", static_cast<int>(std::random_device{}() % 1000000000)));
  std::printf("kill -9: %d iterations, seed %u (DLRD_KILL_SEED to repeat)\n", iterations, seed);
  std::mt19937 rng(seed);
  const std::string run = "kill" + run_tag();

  std::vector<std::string> acked;
  for (int i = 0; i < iterations; ++i) {
    // A new daemon object per run (fresh port), the same directory and so the same spool.
    daemon d(dir_.path(), db.url());
    d.start();
    ASSERT_TRUE(d.wait_ready()) << "start " << i << " after kill -9 failed:\n" << d.log();
    auto kill_after = std::chrono::milliseconds(100 + rng() % 501);
    load_generator load(d.port(), run + "-" + std::to_string(i), 4);
    std::this_thread::sleep_for(kill_after);
    d.signal(SIGKILL);
    EXPECT_EQ(d.wait_exit(10s), -SIGKILL);
    auto ids = load.stop();
    EXPECT_EQ(load.non_200(), 0) << "iteration " << i << ": " << load.first_non_200();
    std::printf("kill -9 #%d after %lld ms: %zu acked\n", i + 1, static_cast<long long>(kill_after.count()),
                ids.size());
    acked.insert(acked.end(), ids.begin(), ids.end());
  }
  ASSERT_GT(acked.size(), 0u);

  daemon last(dir_.path(), db.url());
  last.start();
  ASSERT_TRUE(last.wait_ready()) << last.log();
  auto missing = wait_until_stored(db.url(), acked, 90s);
  EXPECT_TRUE(missing.empty()) << describe_missing(missing) << "\n" << last.log();

  // dlr_events' UNIQUE key already forbids duplicate keys; what replays could break is the
  // one-row-per-acked-report count below.
  std::unordered_map<std::string, long long> events;
  for (const auto& row : test::query(db.url(), "SELECT message_id, count(*) FROM dlr_events GROUP BY message_id")) {
    events[row[0].as<std::string>()] = row[1].as<long long>();
  }
  int wrong = 0;
  for (const auto& id : acked) {
    auto it = events.find(id);
    long long n = it == events.end() ? 0 : it->second;
    if (n != 1 && ++wrong <= 5) ADD_FAILURE() << id << " has " << n << " dlr_events row(s), expected exactly 1";
  }
  EXPECT_EQ(wrong, 0);
  std::printf("kill -9: %zu acked over %d kills, all in sms_logs, one event each\n", acked.size(), iterations);

  last.signal(SIGTERM);
  EXPECT_EQ(last.wait_exit(30s), 0) << last.log();
}

TEST_F(durability, acks_never_stop_while_postgresql_is_down_and_the_backlog_drains) {
  const int outage_seconds = env_int("DLRD_OUTAGE_SECONDS", 60);
  ::chmod(dir_.path().c_str(), 0755);  // pg.sh runs the cluster as the postgres user
  private_cluster pg(dir_.path() + "/pg");
  daemon d(dir_.path(), pg.url());
  int code = 0;
  auto out = run_command(std::string(DLRD_BINARY) + " migrate --config " + d.config_path() + " 2>&1", code);
  ASSERT_EQ(code, 0) << out;
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  load_generator load(d.port(), "outage" + run_tag(), 4);
  std::this_thread::sleep_for(3s);
  auto rows_before = count_of(pg.url(), "SELECT count(*) FROM sms_logs");
  ASSERT_GT(rows_before, 0) << "nothing reached PostgreSQL before the outage\n" << d.log();
  auto readyz_is_plain_ready = [&d](std::chrono::seconds within, std::string& body) {
    for (auto deadline = steady::now() + within;;) {
      client c(d.port());
      auto r = c.get("/readyz");
      body = r.body;
      if (r.status == 200 && r.body.find("degraded") == std::string::npos) return true;
      if (steady::now() >= deadline) return false;
      std::this_thread::sleep_for(200ms);
    }
  };
  std::string body;
  EXPECT_TRUE(readyz_is_plain_ready(10s, body)) << "degraded while PostgreSQL is up: " << body;

  load.mark(true);
  pg.stop();
  auto outage_end = steady::now() + std::chrono::seconds(outage_seconds);
  bool saw_degraded = false;
  std::string readyz_body;
  {
    client c(d.port());
    while (steady::now() < outage_end) {
      auto r = c.get("/readyz");
      if (r.status == 200 && r.body.find("degraded") != std::string::npos) {
        saw_degraded = true;
        readyz_body = r.body;
      }
      std::this_thread::sleep_for(250ms);
    }
  }
  pg.start();
  auto restarted = steady::now();
  load.mark(false);
  std::this_thread::sleep_for(2s);  // callbacks keep coming while the backlog drains
  auto acked = load.stop();

  EXPECT_TRUE(saw_degraded) << "/readyz never said degraded during the outage";
  std::printf("outage: /readyz said %s\n", readyz_body.c_str());
  EXPECT_GT(load.marked_acks(), 0);
  EXPECT_EQ(load.marked_non_200(), 0) << load.first_non_200();
  EXPECT_EQ(load.marked_failed(), 0);
  EXPECT_EQ(load.non_200(), 0) << load.first_non_200();
  EXPECT_EQ(load.failed_exchanges(), 0);
  EXPECT_LT(load.marked_max_ack_gap_seconds(), 5.0) << "acks stalled during the outage";
  std::printf("outage: %d s, %lld requests during it, all acked; longest gap between acks %.3f s\n", outage_seconds,
              load.marked_requests(), load.marked_max_ack_gap_seconds());

  auto missing = wait_until_stored(pg.url(), acked, 180s);
  auto drain_seconds = std::chrono::duration<double>(steady::now() - restarted).count();
  EXPECT_TRUE(missing.empty()) << describe_missing(missing) << "\n" << d.log();
  auto rows_after = count_of(pg.url(), "SELECT count(*) FROM sms_logs");
  std::printf("outage: drained %lld rows in %.2f s after PostgreSQL returned: %.0f rows/s; %zu acked, 0 lost\n",
              rows_after - rows_before, drain_seconds,
              static_cast<double>(rows_after - rows_before) / drain_seconds, acked.size() - missing.size());

  // Once drained and reconnected, /readyz stops reporting the outage.
  EXPECT_TRUE(readyz_is_plain_ready(30s, body)) << "still degraded after the drain: " << body;

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST_F(durability, a_full_spool_answers_503_with_retry_after_and_acks_resume_after_catch_up) {
  test::pg_database db;
  daemon d(dir_.path(), db.url());
  add_to_section(d.config_path(), "spool", "  max_bytes: 256KiB\n  segment_bytes: 64KiB\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  // Writers block behind this lock, so nothing leaves the spool and it fills.
  pqxx::connection locker(db.url());
  auto lock = std::make_unique<pqxx::work>(locker);
  lock->exec("LOCK TABLE sms_logs IN ACCESS EXCLUSIVE MODE");

  const std::string run = "full" + run_tag();
  std::vector<std::string> acked, refused;
  std::vector<std::string> retry_after_values;
  std::string unexpected;
  double slowest_refusal = 0;
  client c(d.port());
  for (int n = 0; n < 50'000 && refused.size() < 200; ++n) {
    std::string id = run + "-" + std::to_string(n);
    auto t0 = steady::now();
    auto r = c.post("/webhooks/smspm", report_body(id, n));
    if (r.status == 200) {
      acked.push_back(id);
    } else if (r.status == 503) {
      refused.push_back(id);
      slowest_refusal = std::max(slowest_refusal, std::chrono::duration<double>(steady::now() - t0).count());
      auto h = r.headers.find("retry-after");
      retry_after_values.push_back(h == r.headers.end() ? "" : h->second);
    } else if (unexpected.empty()) {
      unexpected = std::to_string(r.status) + " " + r.body;
    }
  }
  EXPECT_TRUE(unexpected.empty()) << unexpected;
  ASSERT_GT(acked.size(), 0u);
  ASSERT_FALSE(refused.empty()) << "a 256 KiB spool with blocked writers never answered 503 after " << acked.size()
                                << " acks\n" << d.log();
  for (const auto& v : retry_after_values) {
    ASSERT_FALSE(v.empty()) << "a 503 without Retry-After";
    EXPECT_GT(std::atoi(v.c_str()), 0) << "Retry-After: " << v;
  }
  EXPECT_LT(slowest_refusal, 5.0) << "a refusal waited instead of answering at once";
  std::printf("full spool: %zu acked, then %zu refused with 503 Retry-After: %s (slowest %.3f s)\n", acked.size(),
              refused.size(), retry_after_values.front().c_str(), slowest_refusal);

  lock->abort();
  lock.reset();
  auto missing = wait_until_stored(db.url(), acked, 60s);
  EXPECT_TRUE(missing.empty()) << describe_missing(missing) << "\n" << d.log();
  auto stored = stored_ids(db.url());
  std::unordered_set<std::string> in_history;
  for (const auto& row : test::query(db.url(), "SELECT message_id FROM dlr_events")) {
    in_history.insert(row[0].as<std::string>());
  }
  int leaked = 0;
  for (const auto& id : refused) {
    if ((stored.count(id) || in_history.count(id)) && ++leaked <= 5) {
      ADD_FAILURE() << id << " was answered 503 but was stored";
    }
  }
  EXPECT_EQ(leaked, 0);

  // Writers caught up: the spool has room again and new callbacks are acked.
  std::vector<std::string> after;
  int n = 0;
  for (auto deadline = steady::now() + 30s; steady::now() < deadline && after.empty(); ++n) {
    std::string id = run + "-after-" + std::to_string(n);
    if (c.post("/webhooks/smspm", report_body(id, n)).status == 200) after.push_back(id);
    else std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(after.empty()) << "acks did not resume after the writers caught up\n" << d.log();
  for (int k = 0; k < 100; ++k, ++n) {
    std::string id = run + "-after-" + std::to_string(n);
    auto r = c.post("/webhooks/smspm", report_body(id, n));
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status == 200) after.push_back(id);
  }
  missing = wait_until_stored(db.url(), after, 30s);
  EXPECT_TRUE(missing.empty()) << describe_missing(missing);

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST_F(durability, spool_inspect_reads_a_stopped_spool) {
  test::pg_database db;
  daemon d(dir_.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string spool_dir = dir_.path() + "/spool";
  const std::string dlrd = DLRD_BINARY;

  std::vector<std::string> acked;
  {
    pqxx::connection locker(db.url());
    pqxx::work lock(locker);
    lock.exec("LOCK TABLE sms_logs IN ACCESS EXCLUSIVE MODE");
    const std::string run = "inspect" + run_tag();
    client c(d.port());
    for (int n = 0; n < 500; ++n) {
      std::string id = run + "-" + std::to_string(n);
      auto r = c.post("/webhooks/smspm", report_body(id, n));
      ASSERT_EQ(r.status, 200) << r.body;
      acked.push_back(id);
    }
    d.signal(SIGKILL);
    ASSERT_EQ(d.wait_exit(10s), -SIGKILL);
    lock.abort();
  }

  auto number_after = [](const std::string& text, const std::string& pattern) -> long long {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(pattern))) return -1;
    return std::stoll(m[1].str());
  };
  int code = -1;
  auto by_dir = run_command(dlrd + " spool inspect --dir " + spool_dir, code);
  EXPECT_EQ(code, 0) << by_dir;
  std::printf("%s", by_dir.c_str());
  EXPECT_NE(by_dir.find("checkpoint:"), std::string::npos) << by_dir;
  auto records = number_after(by_dir, R"(segments:\s+\d+ \(\d+ bytes, (\d+) records\))");
  auto unsent = number_after(by_dir, R"(unsent:\s+(\d+) record)");
  EXPECT_GE(records, static_cast<long long>(acked.size())) << by_dir;
  EXPECT_GE(unsent, static_cast<long long>(acked.size())) << by_dir;
  EXPECT_NE(by_dir.find("corruption:  0 segment"), std::string::npos) << by_dir;

  auto by_config = run_command(dlrd + " spool inspect --config " + d.config_path(), code);
  EXPECT_EQ(code, 0) << by_config;
  EXPECT_EQ(by_config, by_dir);

  // The spool it described is what the next start delivers; afterwards nothing is unsent.
  daemon again(dir_.path(), db.url());
  again.start();
  ASSERT_TRUE(again.wait_ready()) << again.log();
  auto missing = wait_until_stored(db.url(), acked, 60s);
  EXPECT_TRUE(missing.empty()) << describe_missing(missing) << "\n" << again.log();
  again.signal(SIGTERM);
  ASSERT_EQ(again.wait_exit(30s), 0) << again.log();
  auto drained = run_command(dlrd + " spool inspect --dir " + spool_dir, code);
  EXPECT_EQ(code, 0) << drained;
  EXPECT_EQ(number_after(drained, R"(unsent:\s+(\d+) record)"), 0) << drained;
  auto checkpoint = number_after(drained, R"(checkpoint:\s+(\d+))");
  EXPECT_GE(checkpoint, static_cast<long long>(acked.size())) << drained;
}

}  // namespace
}  // namespace dlrd::e2e
