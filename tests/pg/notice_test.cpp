// Failure notices: written with the row's move into a failed status, exactly once per message.
#include "support/writer_fixture.hpp"
#include "support/report_gen.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::ingest_record;
using dlrd::report::status;
using dlrd::store::writer;
using dlrd::test::make_report;
using dlrd::test::query;

constexpr std::int64_t t0 = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z in microseconds
constexpr std::int64_t second = 1000000;

class notice_test : public dlrd::test::writer_fixture {
 protected:
  std::size_t write(writer& w, const std::vector<delivery_report>& batch) { return write_with(w, batch).notices; }
  std::int64_t notices_for(const std::string& id) {
    return query(url(), "SELECT count(*) FROM dlr_alert_outbox WHERE message_id = '" + id + "'")[0][0]
        .as<std::int64_t>();
  }
};

TEST_F(notice_test, a_move_into_a_failed_status_writes_one_notice_with_the_row) {
  auto w = make_writer();
  auto pending = make_report("n1", status::pending, "ENROUTE", t0);
  auto failed = make_report("n1", status::undelivered, "UNDELIV", t0 + second, "34");
  failed.recipient = "+4915112345678";
  EXPECT_EQ(write(w, {pending}), 0u);
  EXPECT_EQ(write(w, {failed}), 1u);
  auto row = query(url(),
                   "SELECT status, raw_status, error_code, recipient, country, provider FROM dlr_alert_outbox "
                   "WHERE message_id = 'n1'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "undelivered");
  EXPECT_EQ(row[0][1].as<std::string>(), "UNDELIV");
  EXPECT_EQ(row[0][2].as<std::string>(), "34");
  EXPECT_EQ(row[0][3].as<std::string>(), "+4915112345678");
  EXPECT_EQ(row[0][4].as<std::string>(), "DE");
  EXPECT_EQ(row[0][5].as<std::string>(), "smspm");
  EXPECT_EQ(query(url(), "SELECT country_code FROM sms_logs WHERE message_id = 'n1'")[0][0].as<std::string>(), "DE");
}

TEST_F(notice_test, a_batch_split_around_a_refused_record_notices_a_message_once) {
  // One batch moves a message undelivered -> expired -> delivered, with a record PostgreSQL
  // refuses between them: the batch is written in parts, several statements in one
  // transaction. The marker compared with txid_current(), the same in every statement, so
  // each part noticed the message again (three notices, the last one "delivered").
  auto w = make_writer();
  std::vector<ingest_record> batch{
      make_report("n9", status::undelivered, "UNDELIV", t0 + second),
      make_report(std::string("nul\0id", 6), status::delivered, "DELIVRD", t0),
      make_report("n9", status::expired, "EXPIRED", t0 + 2 * second),
      make_report("other", status::pending, "ENROUTE", t0),
      make_report("n9", status::delivered, "DELIVRD", t0 + 3 * second)};
  auto out = write_with(w, batch);
  EXPECT_GT(out.statements, 2u) << "the batch was written in parts";
  EXPECT_EQ(out.quarantined, 1u);
  EXPECT_EQ(notices_for("n9"), 1);
  auto row = query(url(), "SELECT status FROM dlr_alert_outbox WHERE message_id = 'n9'");
  ASSERT_EQ(row.size(), 1u);
  EXPECT_EQ(row[0][0].as<std::string>(), "undelivered");
  EXPECT_EQ(query(url(), "SELECT status FROM sms_logs WHERE message_id = 'n9'")[0][0].as<std::string>(), "delivered");
}

TEST_F(notice_test, a_message_and_its_parts_in_one_transaction_notice_once) {
  // The parts' statement runs after the messages' statement in the same transaction; both
  // may move the message's row into a failed status.
  auto w = make_writer();
  query(url(), "SELECT dlr_log_parts('long-1', ARRAY['long-1-a', 'long-1-b'])");
  std::vector<ingest_record> batch{make_report("long-1", status::undelivered, "UNDELIV", t0 + second),
                                   make_report("long-1-a", status::rejected, "REJECTD", t0 + 2 * second)};
  write_with(w, batch);
  // The parts' statement moved the row after the messages' statement did: both were failures.
  EXPECT_EQ(query(url(), "SELECT status FROM sms_logs WHERE message_id = 'long-1'")[0][0].as<std::string>(),
            "rejected");
  EXPECT_EQ(notices_for("long-1"), 1);
}

TEST_F(notice_test, duplicates_replays_and_later_failures_never_notify_twice) {
  auto w = make_writer();
  auto undelivered = make_report("n2", status::undelivered, "UNDELIV", t0 + second);
  auto rejected_later = make_report("n2", status::rejected, "REJECTD", t0 + 2 * second);
  auto expired_later = make_report("n2", status::expired, "EXPIRED", t0 + 3 * second);
  EXPECT_EQ(write(w, {undelivered}), 1u);
  EXPECT_EQ(write(w, {undelivered}), 0u);                  // duplicate
  EXPECT_EQ(write(w, {undelivered, undelivered}), 0u);     // replayed batch
  EXPECT_EQ(write(w, {rejected_later}), 0u);               // the row moves, but was already noticed
  EXPECT_EQ(write(w, {expired_later}), 0u);
  EXPECT_EQ(notices_for("n2"), 1);
  EXPECT_EQ(query(url(), "SELECT status FROM sms_logs WHERE message_id = 'n2'")[0][0].as<std::string>(), "expired");
}

TEST_F(notice_test, a_delivered_message_never_notifies_even_when_a_late_failure_arrives) {
  auto w = make_writer();
  auto delivered = make_report("n3", status::delivered, "DELIVRD", t0 + second);
  auto late_expired = make_report("n3", status::expired, "EXPIRED", t0 + 60 * second);
  EXPECT_EQ(write(w, {delivered}), 0u);
  EXPECT_EQ(write(w, {late_expired}), 0u);
  EXPECT_EQ(write(w, {late_expired, delivered}), 0u);
  EXPECT_EQ(notices_for("n3"), 0);
}

TEST_F(notice_test, a_failure_that_loses_to_delivered_in_the_same_batch_does_not_notify) {
  auto w = make_writer();
  auto failed = make_report("n4", status::undelivered, "UNDELIV", t0 + 5 * second);
  auto delivered = make_report("n4", status::delivered, "DELIVRD", t0 + second);
  EXPECT_EQ(write(w, {failed, delivered}), 0u);
  EXPECT_EQ(notices_for("n4"), 0);
}

TEST_F(notice_test, any_arrival_order_and_parallel_writers_give_one_notice_per_failed_message) {
  // Each message: pending, a failure, sometimes a second failure, sometimes a delivered.
  std::mt19937 rng(7);
  std::vector<delivery_report> all;
  std::set<std::string> should_notify;
  for (int m = 0; m < 400; ++m) {
    std::string id = "p" + std::to_string(m);
    all.push_back(make_report(id, status::pending, "ACCEPTD", t0));
    all.push_back(make_report(id, status::undelivered, "UNDELIV", t0 + second));
    if (m % 3 == 0) all.push_back(make_report(id, status::rejected, "REJECTD", t0 + 2 * second));
    if (m % 4 == 0) all.push_back(make_report(id, status::delivered, "DELIVRD", t0 + 3 * second));
    // A message whose final state is delivered may still have passed through a failure
    // first (if a failure batch committed before the delivered one): then it was noticed.
    // Those without a delivered report must be noticed exactly once.
    if (m % 4 != 0) should_notify.insert(id);
  }
  auto copy = all;
  for (int i = 0; i < 2; ++i) copy.insert(copy.end(), all.begin(), all.end());  // duplicates
  std::shuffle(copy.begin(), copy.end(), rng);

  std::vector<std::thread> threads;
  std::atomic<std::size_t> next{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      auto w = make_writer();
      for (;;) {
        auto start = next.fetch_add(50);
        if (start >= copy.size()) break;
        std::vector<delivery_report> batch(copy.begin() + static_cast<long>(start),
                                           copy.begin() + static_cast<long>(std::min(start + 50, copy.size())));
        write(w, batch);
      }
    });
  }
  for (auto& t : threads) t.join();

  auto per_message = query(url(), "SELECT message_id, count(*) FROM dlr_alert_outbox GROUP BY message_id");
  std::set<std::string> noticed;
  for (const auto& row : per_message) {
    EXPECT_EQ(row[1].as<int>(), 1) << row[0].as<std::string>() << " was noticed more than once";
    noticed.insert(row[0].as<std::string>());
  }
  for (const auto& id : should_notify) EXPECT_TRUE(noticed.contains(id)) << id << " failed but was never noticed";
}

}  // namespace
