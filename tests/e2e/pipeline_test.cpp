// The real binary end to end: real HTTP in, real PostgreSQL rows out, compared with an oracle.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

/// One callback as the test sends it, and what the oracle needs to know of it.
struct sent_report {
  std::string message_id;
  std::string status;     // the word on the wire
  std::string canonical;  // what it means
  int at_second;          // event time: 2026-01-01T00:00:00Z + at_second
  std::string body;
};

int class_of(const std::string& canonical) {
  if (canonical == "delivered") return 2;
  if (canonical == "pending") return 0;
  return 1;
}

int ordinal_of(const std::string& canonical) {
  static const std::map<std::string, int> order = {
      {"pending", 0}, {"expired", 1}, {"undelivered", 2}, {"rejected", 3}, {"delivered", 4}};
  return order.at(canonical);
}

/// The oracle's own statement of DESIGN.md invariant 3 (independent of dlrd's code).
bool beats(const sent_report& a, const sent_report& b) {
  return std::make_tuple(class_of(a.canonical), a.at_second, ordinal_of(a.canonical)) >
         std::make_tuple(class_of(b.canonical), b.at_second, ordinal_of(b.canonical));
}

std::string timestamp(int second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-01-01T%02d:%02d:%02dZ", second / 3600, (second / 60) % 60, second % 60);
  return buf;
}

std::string body_of(const sent_report& r, const std::string& to) {
  return R"({"messageId":")" + r.message_id + R"(","status":")" + r.status + R"(","to":")" + to +
         R"(","timestamp":")" + timestamp(r.at_second) + R"("})";
}

/// Each message gets a plausible life: an intermediate report, then a final one, and
/// sometimes a late contradicting final; the order of arrival is shuffled.
std::vector<sent_report> make_workload(const std::string& run, int messages, std::mt19937& rng) {
  std::vector<sent_report> out;
  const char* finals[] = {"delivered", "delivered", "delivered", "undelivered", "rejected", "expired"};
  for (int m = 0; m < messages; ++m) {
    std::string id = run + "-" + std::to_string(m);
    std::string to = "+4477009" + std::to_string(10000 + m % 90000);
    int t = static_cast<int>(rng() % 3600);
    auto add = [&](std::string word, std::string canonical, int at) {
      sent_report r{id, std::move(word), std::move(canonical), at, {}};
      r.body = body_of(r, to);
      out.push_back(std::move(r));
    };
    add(rng() % 2 ? "enroute" : "accepted", "pending", t);
    std::string f = finals[rng() % 6];
    add(f, f, t + 1 + static_cast<int>(rng() % 30));
    if (rng() % 3 == 0) add("expired", "expired", t + 60);  // a late expiry: must never beat delivered
  }
  return out;
}

class pipeline : public ::testing::Test {
 protected:
  test::pg_database db_;
  temp_dir dir_;
};

TEST_F(pipeline, twenty_thousand_callbacks_converge_to_the_oracle) {
  std::mt19937 rng(20261128);
  std::string run = "e2e" + std::to_string(std::random_device{}() % 1000000);
  auto unique = make_workload(run, 6500, rng);
  std::vector<const sent_report*> wire;
  for (const auto& r : unique) wire.push_back(&r);
  // 10% duplicates, then shuffle so statuses of one message arrive in any order.
  while (wire.size() < 20'000) wire.push_back(&unique[rng() % unique.size()]);
  std::shuffle(wire.begin(), wire.end(), rng);

  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();

  constexpr int connections = 16;
  std::atomic<std::size_t> next{0};
  std::atomic<int> non_200{0};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (int c = 0; c < connections; ++c) {
    senders.emplace_back([&] {
      client cl(d.port());
      for (std::size_t i = next++; i < wire.size(); i = next++) {
        if (cl.post("/webhooks/smspm", wire[i]->body).status != 200) ++non_200;
      }
    });
  }
  for (auto& t : senders) t.join();
  auto acked_in = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(non_200, 0);

  // Expected state per message and the expected history (deduplicated reports).
  std::map<std::string, const sent_report*> winner;
  std::set<std::tuple<std::string, std::string, int>> events;
  for (const auto& r : unique) {
    auto& w = winner[r.message_id];
    if (!w || beats(r, *w)) w = &r;
    events.emplace(r.message_id, r.canonical, r.at_second);
  }

  pqxx::connection conn(db_.url());
  auto deadline = std::chrono::steady_clock::now() + 60s;
  long long rows = 0, history = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pqxx::work tx(conn);
    rows = tx.exec1("SELECT count(*) FROM sms_logs")[0].as<long long>();
    history = tx.exec1("SELECT count(*) FROM dlr_events")[0].as<long long>();
    tx.commit();
    if (rows == static_cast<long long>(winner.size()) && history == static_cast<long long>(events.size())) break;
    std::this_thread::sleep_for(50ms);
  }
  auto persisted_in = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(rows, static_cast<long long>(winner.size()));
  ASSERT_EQ(history, static_cast<long long>(events.size()));
  std::printf("e2e: %zu callbacks over %d connections: acked in %.2fs (%.0f/s), persisted in %.2fs (%.0f/s)\n",
              wire.size(), connections, acked_in, static_cast<double>(wire.size()) / acked_in, persisted_in,
              static_cast<double>(wire.size()) / persisted_in);

  pqxx::work tx(conn);
  auto result = tx.exec(
      "SELECT message_id, status, raw_status, extract(epoch from status_at)::bigint - "
      "extract(epoch from timestamptz '2026-01-01T00:00:00Z')::bigint, "
      "extract(epoch from delivered_at)::bigint - extract(epoch from timestamptz '2026-01-01T00:00:00Z')::bigint, "
      "to_number FROM sms_logs");
  int mismatches = 0;
  for (const auto& row : result) {
    const auto* w = winner.at(row[0].as<std::string>());
    bool ok = row[1].as<std::string>() == w->canonical && row[2].as<std::string>() == w->status &&
              row[3].as<int>() == w->at_second && !row[5].is_null();
    if (w->canonical == "delivered") ok = ok && !row[4].is_null() && row[4].as<int>() == w->at_second;
    else ok = ok && row[4].is_null();
    if (!ok && ++mismatches <= 5) {
      ADD_FAILURE() << row[0].as<std::string>() << ": got " << row[1].as<std::string>() << "/" << row[2].c_str()
                    << " at " << row[3].c_str() << ", expected " << w->canonical << "/" << w->status << " at "
                    << w->at_second;
    }
  }
  EXPECT_EQ(mismatches, 0);
  // The history is exactly the oracle's set of distinct reports (the count matched above).
  std::set<std::tuple<std::string, std::string, int>> stored;
  for (const auto& ev : tx.exec(
           "SELECT message_id, status, extract(epoch from event_at)::bigint - "
           "extract(epoch from timestamptz '2026-01-01T00:00:00Z')::bigint FROM dlr_events")) {
    stored.emplace(ev[0].as<std::string>(), ev[1].as<std::string>(), ev[2].as<int>());
  }
  EXPECT_TRUE(stored == events) << stored.size() << " stored events differ from " << events.size() << " expected";
  tx.commit();

  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

TEST_F(pipeline, sigterm_under_load_exits_zero_and_loses_nothing_acked) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  std::atomic<bool> stop{false};
  std::atomic<long long> acked{0};
  std::vector<std::thread> senders;
  std::mutex m;
  std::vector<std::string> acked_ids;
  for (int c = 0; c < 4; ++c) {
    senders.emplace_back([&, c] {
      try {
        client cl(d.port());
        for (int i = 0; !stop; ++i) {
          std::string id = "term-" + std::to_string(c) + "-" + std::to_string(i);
          auto r = cl.post("/webhooks/smspm", R"({"messageId":")" + id + R"(","status":"delivered"})");
          if (r.status == 200) {
            std::lock_guard lock(m);
            acked_ids.push_back(id);
          }
        }
      } catch (const std::exception&) {
        // the server went away mid-request: that request was not acked
      }
    });
  }
  std::this_thread::sleep_for(700ms);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
  stop = true;
  for (auto& t : senders) t.join();
  ASSERT_GT(acked_ids.size(), 0u);

  // Whatever was not drained before exit is in the spool: a restart delivers it.
  daemon again(dir_.path(), db_.url());
  again.start();
  ASSERT_TRUE(again.wait_ready()) << again.log();
  pqxx::connection conn(db_.url());
  long long found = 0;
  for (int i = 0; i < 600; ++i) {
    pqxx::work tx(conn);
    found = tx.exec1("SELECT count(*) FROM sms_logs WHERE status = 'delivered'")[0].as<long long>();
    tx.commit();
    if (found >= static_cast<long long>(acked_ids.size())) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(found, static_cast<long long>(acked_ids.size()));
  pqxx::work tx(conn);
  for (std::size_t i = 0; i < acked_ids.size(); i += 97) {
    auto n = tx.exec_params1("SELECT count(*) FROM sms_logs WHERE message_id = $1", acked_ids[i])[0].as<int>();
    EXPECT_EQ(n, 1) << acked_ids[i] << " was acked but is not in sms_logs";
  }
  tx.commit();
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait_exit(30s), 0);
}

}  // namespace
}  // namespace dlrd::e2e
