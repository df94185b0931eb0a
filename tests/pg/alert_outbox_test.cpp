// The alert outbox's claims: exactly once across concurrent claimers, retries, leases, stale drops.
#include <dlrd/store/outbox.hpp>

#include <dlrd/store/connection.hpp>
#include <dlrd/store/retry.hpp>

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <set>
#include <thread>

namespace {

using dlrd::store::outbox;
using dlrd::test::query;
using std::chrono::milliseconds;

constexpr milliseconds hour{3'600'000};
constexpr milliseconds long_lease{300'000};

class alert_outbox_test : public dlrd::test::pg_test {
 protected:
  dlrd::store::database_config db() const { return {url(), std::chrono::seconds(2), false}; }
  void add_notices(int n, const std::string& age = "0 seconds") {
    query(url(), "INSERT INTO dlr_alert_outbox (message_id, status, raw_status, provider, created_at) "
                 "SELECT 'm' || g, 'undelivered', 'UNDELIV', 'smspm', now() - interval '" + age + "' "
                 "FROM generate_series(1, " + std::to_string(n) + ") g");
  }
  static std::vector<std::int64_t> ids(const dlrd::store::claim_result& r) {
    std::vector<std::int64_t> out;
    for (const auto& n : r.notices) out.push_back(n.id);
    return out;
  }
};

TEST_F(alert_outbox_test, two_concurrent_claimers_on_one_sink_get_each_notice_exactly_once) {
  add_notices(600);
  std::vector<std::int64_t> got[2];
  auto worker = [&](int w) {
    outbox box(db());
    for (int empty = 0; empty < 3;) {
      auto r = box.claim("hook", 37, hour, long_lease);
      if (r.notices.empty()) {
        ++empty;
        continue;
      }
      auto claimed = ids(r);
      box.mark_sent("hook", claimed);
      got[w].insert(got[w].end(), claimed.begin(), claimed.end());
    }
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  std::multiset<std::int64_t> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  EXPECT_EQ(all.size(), 600u);
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 600u);  // no notice twice
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_delivery WHERE sink = 'hook' AND sent_at IS NOT NULL")[0][0]
                .as<int>(),
            600);
  // Another sink has its own cursor and sees every notice too.
  outbox other(db());
  EXPECT_EQ(other.claim("chat", 1000, hour, long_lease).notices.size(), 600u);
}

TEST_F(alert_outbox_test, a_failed_notice_is_retried_after_its_delay_and_then_sent) {
  add_notices(1);
  outbox box(db());
  auto first = box.claim("hook", 10, hour, long_lease);
  ASSERT_EQ(first.notices.size(), 1u);
  EXPECT_EQ(first.notices[0].attempts, 1);
  EXPECT_EQ(first.notices[0].message_id, "m1");
  EXPECT_EQ(first.notices[0].status, "undelivered");
  EXPECT_FALSE(first.notices[0].noticed_at.empty());
  dlrd::store::retry_at retry{first.notices[0].id, milliseconds(400)};
  box.mark_failed("hook", std::span(&retry, 1), "HTTP 500");
  EXPECT_TRUE(box.claim("hook", 10, hour, long_lease).notices.empty());  // not due yet
  std::this_thread::sleep_for(milliseconds(500));
  auto second = box.claim("hook", 10, hour, long_lease);
  ASSERT_EQ(second.notices.size(), 1u);
  EXPECT_EQ(second.notices[0].attempts, 2);
  box.mark_sent("hook", ids(second));
  EXPECT_TRUE(box.claim("hook", 10, hour, milliseconds(1)).notices.empty());
  auto row = query(url(), "SELECT attempts, sent_at IS NOT NULL, last_error FROM dlr_alert_delivery");
  EXPECT_EQ(row[0][0].as<int>(), 2);
  EXPECT_TRUE(row[0][1].as<bool>());
  EXPECT_EQ(row[0][2].as<std::string>(), "HTTP 500");
}

TEST_F(alert_outbox_test, a_claimed_notice_comes_back_only_when_its_lease_runs_out) {
  add_notices(1);
  outbox box(db());
  ASSERT_EQ(box.claim("hook", 10, hour, milliseconds(300)).notices.size(), 1u);  // then "crash"
  EXPECT_TRUE(box.claim("hook", 10, hour, milliseconds(300)).notices.empty());
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(box.claim("hook", 10, hour, milliseconds(300)).notices.size(), 1u);
}

TEST_F(alert_outbox_test, stale_notices_are_dropped_with_a_count_not_sent) {
  add_notices(3, "2 hours");
  add_notices(2);
  outbox box(db());
  auto r = box.claim("hook", 10, hour, long_lease);
  EXPECT_EQ(r.dropped_stale, 3u);
  EXPECT_EQ(r.notices.size(), 2u);
  // A notice that goes stale while it waits for a retry is dropped too.
  std::vector<dlrd::store::retry_at> retries{{r.notices[0].id, milliseconds(0)}, {r.notices[1].id, milliseconds(0)}};
  box.mark_failed("hook", retries, "timeout");
  query(url(), "UPDATE dlr_alert_outbox SET created_at = now() - interval '3 hours' WHERE id = " +
                   std::to_string(r.notices[0].id));
  auto again = box.claim("hook", 10, hour, long_lease);
  EXPECT_EQ(again.dropped_stale, 1u);
  ASSERT_EQ(again.notices.size(), 1u);
  EXPECT_EQ(again.notices[0].id, r.notices[1].id);
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_delivery WHERE dropped_reason = 'stale'")[0][0].as<int>(), 4);
}

TEST_F(alert_outbox_test, a_notice_committed_late_with_a_lower_id_is_not_skipped) {
  pqxx::connection slow_conn(url());
  pqxx::work slow(slow_conn);
  slow.exec("INSERT INTO dlr_alert_outbox (message_id, status) VALUES ('early-id', 'rejected')");
  add_notices(1);  // a higher id, committed first
  outbox box(db());
  EXPECT_TRUE(box.claim("hook", 10, hour, long_lease).notices.empty());  // waits for the older transaction
  slow.commit();
  auto r = box.claim("hook", 10, hour, long_lease);
  ASSERT_EQ(r.notices.size(), 2u);
  EXPECT_EQ(r.notices[0].message_id, "early-id");
}

TEST_F(alert_outbox_test, a_claim_whose_session_was_killed_reconnects_and_a_dead_server_is_a_broken_connection) {
  add_notices(3);
  outbox box(db());
  EXPECT_EQ(box.claim("hook", 1, hour, long_lease).notices.size(), 1u);
  query(url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  // The policy retries a broken connection once, on a new session.
  EXPECT_EQ(box.claim("hook", 1, hour, long_lease).notices.size(), 1u);

  outbox nowhere(dlrd::store::database_config{"postgresql://postgres@127.0.0.1:1/none", std::chrono::seconds(2), false});
  try {
    nowhere.claim("hook", 1, hour, long_lease);
    ADD_FAILURE() << "a claim without a server succeeded";
  } catch (const dlrd::store::database_error& e) {
    EXPECT_EQ(e.kind(), dlrd::store::failure::broken_connection) << e.what();
  }
}

TEST_F(alert_outbox_test, the_backlog_counts_per_sink_what_it_has_not_sent_or_dropped) {
  using dlrd::store::sink_backlog;
  add_notices(4);
  dlrd::store::connection conn(url());
  const std::vector<std::string> sinks{"hook", "chat"};
  EXPECT_EQ(outbox_backlog(conn, sinks), (std::vector<sink_backlog>{{"hook", 4}, {"chat", 4}}));  // none claimed

  outbox box(db());
  auto claimed = ids(box.claim("hook", 3, hour, long_lease));  // three in flight, one not yet claimed
  ASSERT_EQ(claimed.size(), 3u);
  EXPECT_EQ(outbox_backlog(conn, sinks)[0], (sink_backlog{"hook", 4}));
  box.mark_sent("hook", std::span(claimed).first(1));
  dlrd::store::retry_at retry{claimed[1], hour};
  box.mark_failed("hook", std::span(&retry, 1), "HTTP 500");  // still owed, after its retry delay
  box.mark_dropped("hook", std::span(claimed).last(1), "test");
  EXPECT_EQ(outbox_backlog(conn, sinks), (std::vector<sink_backlog>{{"hook", 2}, {"chat", 4}}));
  EXPECT_TRUE(outbox_backlog(conn, {}).empty());
}

}  // namespace
