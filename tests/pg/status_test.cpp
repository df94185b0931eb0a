// The status API against a real PostgreSQL: expiry rules, the leader lock, retention, the
// writer's NOTIFY for registered waiters, dlr_log_send, and the service's long-poll.
#include <dlrd/status/jobs.hpp>

#include <dlrd/status/api.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/store/writer.hpp>

#include "support/writer_fixture.hpp"
#include "support/report_gen.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::ingest_record;
using dlrd::report::status;
using dlrd::test::make_report;
using dlrd::test::query;
using namespace std::chrono_literals;

class status_test : public dlrd::test::writer_fixture {
 protected:
  dlrd::store::write_outcome write(const std::vector<delivery_report>& batch) {
    auto w = make_writer();
    return write_with(w, batch);
  }
  /// Logs a send `minutes_ago` minutes ago through the SQL function senders use.
  void log_send(const std::string& id, const std::string& to, const std::string& sender, const std::string& tags,
                const std::string& provider, int minutes_ago) {
    query(url(), "SELECT dlr_log_send('" + id + "', '" + to + "', '" + sender + "', 'code 1234', now() - interval '" +
                     std::to_string(minutes_ago) + " minutes', 1, NULL, NULL, " + tags + ", '" + provider + "')");
  }
  std::string column(const std::string& id, const std::string& col) {
    auto r = query(url(), "SELECT " + col + " FROM sms_logs WHERE message_id = '" + id + "'");
    return r.empty() || r[0][0].is_null() ? "<null>" : r[0][0].as<std::string>();
  }
  static dlrd::status::expiry_config otp_rule(std::size_t batch = 1000) {
    dlrd::status::expiry_config c;
    c.batch = batch;
    dlrd::status::expiry_rule r;
    r.name = "otp";
    r.tag = "otp";
    r.sender = "ACME";
    r.recipient_prefix = "+44";
    r.provider = "smspm";
    r.after = 10min;
    c.rules.push_back(r);
    return c;
  }
  /// A sink that keeps what it is given, as the spool would.
  dlrd::status::report_sink collecting_sink() {
    return [this](std::vector<delivery_report> reports) {
      std::lock_guard lock(sunk_mutex_);
      sunk_.insert(sunk_.end(), reports.begin(), reports.end());
      return true;
    };
  }
  std::vector<delivery_report> take_sunk() {
    std::lock_guard lock(sunk_mutex_);
    return std::exchange(sunk_, {});
  }

  std::mutex sunk_mutex_;
  std::vector<delivery_report> sunk_;
};

TEST_F(status_test, expiry_turns_only_matching_pending_messages_past_their_ttl_into_expired_through_the_writer) {
  log_send("match", "+447700900001", "ACME", "'{otp}'", "smspm", 11);
  log_send("young", "+447700900002", "ACME", "'{otp}'", "smspm", 1);
  log_send("no-tag", "+447700900003", "ACME", "'{marketing}'", "smspm", 11);
  log_send("no-tags-at-all", "+447700900004", "ACME", "NULL", "smspm", 11);
  log_send("other-prefix", "+33612345678", "ACME", "'{otp}'", "smspm", 11);
  log_send("other-sender", "+447700900005", "BANK", "'{otp}'", "smspm", 11);
  log_send("other-provider", "+447700900006", "ACME", "'{otp}'", "twilio", 11);
  log_send("already-final", "+447700900007", "ACME", "'{otp}'", "smspm", 11);
  write({make_report("already-final", status::undelivered, "UNDELIV", dlrd::report::now().time_since_epoch().count())});

  dlrd::status::leader_jobs jobs(otp_rule(), {}, url(), collecting_sink());
  auto run = jobs.expire_once();
  EXPECT_TRUE(run.leader);
  EXPECT_EQ(run.expired, 1u);
  EXPECT_EQ(run.by_rule["otp"], 1u);
  auto reports = take_sunk();
  ASSERT_EQ(reports.size(), 1u);
  const auto& r = reports[0];
  EXPECT_EQ(r.message_id, "match");
  EXPECT_EQ(r.canonical, status::expired);
  EXPECT_EQ(r.raw_status, "dlrd:expired:otp");
  EXPECT_EQ(r.provider, "dlrd");
  EXPECT_EQ(r.recipient, "+447700900001");
  EXPECT_EQ(column("match", "status"), "pending") << "the job writes nothing itself: the spool's writers do";

  auto out = write(reports);
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.notices, 1u) << "an expiry is noticed, as a policy expiry";
  EXPECT_EQ(column("match", "status"), "expired");
  EXPECT_EQ(column("match", "raw_status"), "dlrd:expired:otp");
  // dlrd gave up, the carrier said nothing: the row keeps the carrier and says who expired it.
  EXPECT_EQ(column("match", "provider"), "smspm");
  EXPECT_EQ(column("match", "expired_by"), "policy");
  EXPECT_EQ(column("match", "failure_notice_mark"), "<null>") << "a later carrier failure is still noticed";
  // The history says who reported it.
  EXPECT_EQ(query(url(), "SELECT provider FROM dlr_events WHERE message_id = 'match'")[0][0].as<std::string>(),
            "dlrd");
  // The event time is the send time plus the TTL, so a replay makes the same report.
  EXPECT_EQ(column("match", "(status_at - sent_at) = interval '10 minutes'"), "t");
  auto notice = query(url(), "SELECT kind, status, raw_status, provider, details->>'rule' FROM dlr_alert_outbox "
                             "WHERE message_id = 'match'");
  ASSERT_EQ(notice.size(), 1u);
  EXPECT_EQ(notice[0][0].as<std::string>(), "message_expired_by_policy");
  EXPECT_EQ(notice[0][1].as<std::string>(), "expired");
  EXPECT_EQ(notice[0][2].as<std::string>(), "dlrd:expired:otp");
  EXPECT_EQ(notice[0][3].as<std::string>(), "smspm");
  EXPECT_EQ(notice[0][4].as<std::string>(), "otp");
  for (const char* id : {"young", "no-tag", "no-tags-at-all", "other-prefix", "other-sender", "other-provider"}) {
    EXPECT_EQ(column(id, "status"), "pending") << id;
  }
  EXPECT_EQ(column("already-final", "status"), "undelivered");

  // Written: the next run finds nothing more.
  EXPECT_EQ(jobs.expire_once().expired, 0u);
}

TEST_F(status_test, a_real_delivered_arriving_after_the_expiry_still_wins_and_a_replayed_expiry_changes_nothing) {
  log_send("late", "+447700900001", "ACME", "'{otp}'", "smspm", 30);
  dlrd::status::leader_jobs jobs(otp_rule(), {}, url(), collecting_sink());
  ASSERT_EQ(jobs.expire_once().expired, 1u);
  auto expiry = take_sunk();
  write(expiry);
  ASSERT_EQ(column("late", "status"), "expired");

  // The carrier's report says it was delivered (at a time before dlrd gave up on it).
  auto sent_us = std::stoll(column("late", "(extract(epoch FROM sent_at) * 1000000)::bigint"));
  auto delivered = make_report("late", status::delivered, "DELIVRD", sent_us + 60'000'000);
  auto out = write({delivered});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.notices, 0u);
  EXPECT_EQ(column("late", "status"), "delivered");
  EXPECT_EQ(column("late", "raw_status"), "DELIVRD");
  EXPECT_EQ(column("late", "expired_by"), "<null>") << "the carrier's report is the row's status now";
  EXPECT_EQ(column("late", "provider"), "smspm");

  auto replay = write(expiry);
  EXPECT_EQ(replay.rows_changed, 0u);
  EXPECT_EQ(replay.notices, 0u);
  EXPECT_EQ(column("late", "status"), "delivered");
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_events WHERE message_id = 'late'")[0][0].as<int>(), 2);
}

TEST_F(status_test, a_carrier_failure_after_a_policy_expiry_wins_by_its_time_and_is_noticed_as_a_failure) {
  log_send("early", "+447700900001", "ACME", "'{otp}'", "smspm", 30);
  log_send("later", "+447700900002", "ACME", "'{otp}'", "smspm", 30);
  dlrd::status::leader_jobs jobs(otp_rule(), {}, url(), collecting_sink());
  ASSERT_EQ(jobs.expire_once().expired, 2u);
  EXPECT_EQ(write(take_sunk()).notices, 2u);

  // Failed finals rank by event time: an undelivered dated before dlrd gave up (send + 10m)
  // loses to the expiry (the history keeps it); one dated after wins and is a failure.
  auto sent_us = std::stoll(column("early", "(extract(epoch FROM sent_at) * 1000000)::bigint"));
  auto out = write({make_report("early", status::undelivered, "UNDELIV", sent_us + 5 * 60'000'000LL, "34"),
                    make_report("later", status::undelivered, "UNDELIV", sent_us + 15 * 60'000'000LL, "34")});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.notices, 1u);
  EXPECT_EQ(column("early", "status"), "expired");
  EXPECT_EQ(column("early", "expired_by"), "policy");
  EXPECT_EQ(column("later", "status"), "undelivered");
  EXPECT_EQ(column("later", "expired_by"), "<null>");
  EXPECT_EQ(column("later", "error_code"), "34");
  auto kinds = query(url(), "SELECT kind FROM dlr_alert_outbox WHERE message_id = 'later' ORDER BY id");
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0][0].as<std::string>(), "message_expired_by_policy");
  EXPECT_EQ(kinds[1][0].as<std::string>(), "message_failed");
}

TEST_F(status_test, an_expiry_rule_with_notify_false_expires_without_a_notice) {
  log_send("quiet", "+447700900001", "ACME", "'{otp}'", "smspm", 30);
  dlrd::status::leader_jobs jobs(otp_rule(), {}, url(), collecting_sink());
  ASSERT_EQ(jobs.expire_once().expired, 1u);
  auto config = fast_retry();
  config.quiet_expiries = {"dlrd:expired:otp"};  // what the app makes of `notify: false` on rule otp
  auto w = make_writer(config);
  auto out = write_with(w, take_sunk());
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.notices, 0u);
  EXPECT_EQ(column("quiet", "expired_by"), "policy");
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_outbox")[0][0].as<int>(), 0);
}

TEST_F(status_test, expiry_work_per_run_is_bounded_by_the_batch_and_takes_the_oldest_first) {
  log_send("m-40", "+447700900001", "ACME", "'{otp}'", "smspm", 40);
  log_send("m-30", "+447700900002", "ACME", "'{otp}'", "smspm", 30);
  log_send("m-20", "+447700900003", "ACME", "'{otp,x}'", "smspm", 20);
  dlrd::status::leader_jobs jobs(otp_rule(2), {}, url(), collecting_sink());
  auto first = jobs.expire_once();
  EXPECT_EQ(first.expired, 2u);
  auto reports = take_sunk();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].message_id, "m-40");
  EXPECT_EQ(reports[1].message_id, "m-30");
  write(reports);
  EXPECT_EQ(jobs.expire_once().expired, 1u);
  EXPECT_EQ(take_sunk().at(0).message_id, "m-20");
}

TEST_F(status_test, a_rule_with_a_shorter_ttl_expires_first_and_a_message_is_expired_once_per_run) {
  log_send("both", "+447700900001", "ACME", "'{otp}'", "smspm", 90);
  auto config = otp_rule();
  dlrd::status::expiry_rule any;
  any.name = "stale";
  any.after = 60min;
  config.rules.insert(config.rules.begin(), any);  // listed first, but its TTL is longer
  dlrd::status::leader_jobs jobs(config, {}, url(), collecting_sink());
  auto run = jobs.expire_once();
  EXPECT_EQ(run.expired, 1u);
  auto reports = take_sunk();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].raw_status, "dlrd:expired:otp");
}

TEST_F(status_test, a_refused_append_is_not_counted_and_the_next_run_tries_again) {
  log_send("m", "+447700900001", "ACME", "'{otp}'", "smspm", 40);
  int calls = 0;
  dlrd::status::leader_jobs jobs(otp_rule(), {}, url(), [&calls](std::vector<delivery_report>) {
    ++calls;
    return false;
  });
  EXPECT_EQ(jobs.expire_once().expired, 0u);
  EXPECT_EQ(jobs.expire_once().expired, 0u);
  EXPECT_EQ(calls, 2);
}

TEST_F(status_test, only_one_of_two_leader_candidates_runs_the_jobs_and_the_other_takes_over_when_it_goes) {
  log_send("m", "+447700900001", "ACME", "'{otp}'", "smspm", 40);
  std::atomic<int> a_calls{0}, b_calls{0};
  auto a = std::make_unique<dlrd::status::leader_jobs>(otp_rule(), dlrd::status::retention_config{}, url(),
                                                       [&](std::vector<delivery_report>) { return ++a_calls, true; });
  dlrd::status::leader_jobs b(otp_rule(), dlrd::status::retention_config{}, url(),
                              [&](std::vector<delivery_report>) { return ++b_calls, true; });
  auto ra = a->expire_once();
  auto rb = b.expire_once();
  EXPECT_TRUE(ra.leader);
  EXPECT_FALSE(rb.leader);
  EXPECT_EQ(ra.expired, 1u);
  EXPECT_EQ(rb.expired, 0u);
  EXPECT_FALSE(b.retain_once().leader);
  EXPECT_TRUE(a->retain_once().leader);
  EXPECT_EQ(a_calls.load(), 1);
  EXPECT_EQ(b_calls.load(), 0);

  a.reset();  // the leader's session ends: its lock goes with it (once its backend has exited)
  auto again = b.expire_once();
  for (int i = 0; i < 100 && !again.leader; ++i) {
    std::this_thread::sleep_for(20ms);
    again = b.expire_once();
  }
  EXPECT_TRUE(again.leader);
  EXPECT_EQ(b_calls.load(), 1);
}

TEST_F(status_test, a_leader_whose_session_was_killed_runs_nothing_on_a_new_one_and_competes_again_next_run) {
  log_send("m", "+447700900001", "ACME", "'{otp}'", "smspm", 40);
  int calls = 0;
  dlrd::status::leader_jobs jobs(otp_rule(), dlrd::status::retention_config{}, url(),
                                 [&](std::vector<delivery_report>) { return ++calls, false; });
  EXPECT_TRUE(jobs.expire_once().leader);
  EXPECT_EQ(calls, 1);
  query(url(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  // The lock went with the killed session: store must not run the job on a session of its own.
  EXPECT_THROW(jobs.expire_once(), std::exception);
  EXPECT_FALSE(jobs.leader());
  EXPECT_EQ(calls, 1);
  auto again = jobs.expire_once();
  for (int i = 0; i < 100 && !again.leader; ++i) {
    std::this_thread::sleep_for(20ms);
    again = jobs.expire_once();
  }
  EXPECT_TRUE(again.leader);
  EXPECT_EQ(calls, 2);
}

TEST_F(status_test, retention_deletes_old_rows_in_bounded_batches_and_keeps_new_ones) {
  std::vector<delivery_report> reports;
  const auto now_us = dlrd::report::now().time_since_epoch().count();
  // Dated where no daily partition exists, so their history rows stay in dlr_events' default
  // partition, the one retention deletes from in batches (whole days: partition_test.cpp).
  const std::int64_t odd_clock_us = 978'307'200'000'000;  // 2001-01-01
  for (int i = 0; i < 7; ++i) {
    reports.push_back(make_report("old-" + std::to_string(i), status::delivered, "DELIVRD", odd_clock_us));
  }
  reports.push_back(make_report("new-0", status::delivered, "DELIVRD", now_us - 1000));
  reports.push_back(make_report("new-1", status::pending, "ENROUTE", now_us - 1000));
  reports.push_back(make_report("old-pending", status::pending, "ENROUTE", odd_clock_us));
  write(reports);
  query(url(), "UPDATE dlr_events SET stored_at = now() - interval '91 days' WHERE message_id LIKE 'old-%'");
  query(url(), "UPDATE sms_logs SET status_at = now() - interval '400 days' WHERE message_id LIKE 'old-%'");

  dlrd::status::retention_config c;
  c.events_after = std::chrono::hours(24 * 90);
  c.sms_logs_after = std::chrono::hours(24 * 365);
  c.batch = 3;
  dlrd::status::leader_jobs jobs({}, c, url(), collecting_sink());
  std::vector<std::size_t> events, logs;
  for (int i = 0; i < 4; ++i) {
    auto r = jobs.retain_once();
    ASSERT_TRUE(r.leader);
    events.push_back(r.events_deleted);
    logs.push_back(r.sms_logs_deleted);
  }
  EXPECT_EQ(events, (std::vector<std::size_t>{3, 3, 2, 0}));
  EXPECT_EQ(logs, (std::vector<std::size_t>{3, 3, 1, 0})) << "the old pending row is not final: it stays";
  auto left = query(url(), "SELECT string_agg(message_id, ',' ORDER BY message_id) FROM dlr_events")[0][0];
  EXPECT_EQ(left.as<std::string>(), "new-0,new-1");
  auto rows = query(url(), "SELECT string_agg(message_id, ',' ORDER BY message_id) FROM sms_logs")[0][0];
  EXPECT_EQ(rows.as<std::string>(), "new-0,new-1,old-pending");
}

TEST_F(status_test, retention_deletes_old_notices_no_sink_still_owes) {
  // Old: sent to one sink and dropped by another; unclaimed; still retrying (owed). New: sent.
  query(url(), "INSERT INTO dlr_alert_outbox (id, message_id, created_at) VALUES "
               "(1, 'sent', now() - interval '31 days'), (2, 'unclaimed', now() - interval '31 days'), "
               "(3, 'owed', now() - interval '31 days'), (4, 'new', now() - interval '1 day')");
  query(url(), "INSERT INTO dlr_alert_delivery (notice_id, sink, sent_at, dropped_reason, next_attempt_at) VALUES "
               "(1, 'hook', now(), NULL, NULL), (1, 'slack', NULL, 'stale', NULL), "
               "(3, 'hook', NULL, NULL, now() + interval '1 minute'), (4, 'hook', now(), NULL, NULL)");
  dlrd::status::retention_config c;
  c.events_after.reset();
  c.batch = 1;
  dlrd::status::leader_jobs jobs({}, c, url(), collecting_sink());
  std::vector<std::size_t> deleted;
  for (int i = 0; i < 3; ++i) deleted.push_back(jobs.retain_once().notices_deleted);
  EXPECT_EQ(deleted, (std::vector<std::size_t>{1, 1, 0}));
  auto left = query(url(), "SELECT string_agg(message_id, ',' ORDER BY id) FROM dlr_alert_outbox")[0][0];
  EXPECT_EQ(left.as<std::string>(), "owed,new");
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_delivery")[0][0].as<int>(), 2) << "their delivery rows went too";

  c.notices_after.reset();
  query(url(), "UPDATE dlr_alert_delivery SET sent_at = now()");
  dlrd::status::leader_jobs keep({}, c, url(), collecting_sink());
  EXPECT_EQ(keep.retain_once().notices_deleted, 0u);
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_outbox")[0][0].as<int>(), 2);
}

TEST_F(status_test, retention_with_null_keeps_everything) {
  write({make_report("old", status::delivered, "DELIVRD", dlrd::report::now().time_since_epoch().count())});
  query(url(), "UPDATE dlr_events SET stored_at = now() - interval '9000 days'");
  dlrd::status::retention_config c;
  c.events_after.reset();
  dlrd::status::leader_jobs jobs({}, c, url(), collecting_sink());
  auto r = jobs.retain_once();
  EXPECT_EQ(r.events_deleted, 0u);
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_events")[0][0].as<int>(), 1);
}

/// Collects NOTIFY dlrd_status payloads on a connection of its own.
class listener {
 public:
  explicit listener(const std::string& url) : conn_(url), receiver_(conn_, payloads_) {}
  std::vector<std::string> drain() {
    // NOTIFY is delivered at commit; give the server a moment to send it.
    for (int i = 0; i < 5; ++i) conn_.await_notification(0, 100'000);
    return std::exchange(payloads_, {});
  }

 private:
  class receiver final : public pqxx::notification_receiver {
   public:
    receiver(pqxx::connection_base& c, std::vector<std::string>& out)
        : pqxx::notification_receiver(c, "dlrd_status"), out_(out) {}
    void operator()(const std::string& payload, int) override { out_.push_back(payload); }

   private:
    std::vector<std::string>& out_;
  };
  pqxx::connection conn_;
  std::vector<std::string> payloads_;
  receiver receiver_;
};

TEST_F(status_test, the_writer_notifies_only_for_final_rows_that_somebody_waits_for) {
  listener l(url());
  const auto t = dlrd::report::now().time_since_epoch().count();
  auto out = write({make_report("nobody-waits", status::delivered, "DELIVRD", t)});
  EXPECT_EQ(out.waiters_woken, 0u);
  EXPECT_TRUE(l.drain().empty());

  query(url(), "INSERT INTO dlr_status_waiters VALUES ('waited', now() + interval '1 minute'), "
               "('waited-pending', now() + interval '1 minute'), ('expired-wait', now() - interval '1 second')");
  out = write({make_report("waited", status::undelivered, "UNDELIV", t),
               make_report("waited-pending", status::pending, "ENROUTE", t),
               make_report("expired-wait", status::delivered, "DELIVRD", t)});
  EXPECT_EQ(out.waiters_woken, 1u);
  EXPECT_EQ(l.drain(), std::vector<std::string>{"waited"});

  // A report that does not change the row wakes nobody.
  out = write({make_report("waited", status::undelivered, "UNDELIV", t)});
  EXPECT_EQ(out.waiters_woken, 0u);
  EXPECT_TRUE(l.drain().empty());
}

TEST_F(status_test, dlr_log_send_keeps_the_old_signature_and_never_touches_delivery_state) {
  query(url(), "SELECT dlr_log_send('a', '+447700900001')");
  query(url(), "SELECT dlr_log_send('b', '+447700900002', 'ACME', 'hi', now(), 1, 0.05, 'GB')");
  query(url(), "SELECT dlr_log_send(p_message_id => 'c', p_to_number => '+447700900003', p_from_number => 'ACME')");
  query(url(), "SELECT dlr_log_send('d', '+447700900004', 'ACME', 'hi', NULL, 1, NULL, 'GB', '{otp}', 'smspm')");
  EXPECT_EQ(query(url(), "SELECT count(*) FROM sms_logs WHERE status = 'pending'")[0][0].as<int>(), 4);
  EXPECT_EQ(column("d", "array_to_string(tags, ',')"), "otp");
  EXPECT_EQ(column("d", "provider"), "smspm");
  EXPECT_EQ(column("d", "sent_at IS NOT NULL"), "t");

  // A report first, then the send (twice): delivery state and the report's provider stay.
  write({make_report("e", status::delivered, "DELIVRD", dlrd::report::now().time_since_epoch().count())});
  for (int i = 0; i < 2; ++i) {
    query(url(), "SELECT dlr_log_send('e', '+447700900005', 'ACME', 'hi', NULL, 2, NULL, NULL, '{otp}', 'other')");
  }
  EXPECT_EQ(column("e", "status"), "delivered");
  EXPECT_EQ(column("e", "provider"), "smspm");
  EXPECT_EQ(column("e", "parts"), "2");
  EXPECT_EQ(column("e", "array_to_string(tags, ',')"), "otp");
}

/// Runs service requests and waits for their answers.
struct caller {
  dlrd::status::service& api;
  std::future<dlrd::status::answer> call(std::string method, std::string target, std::string body = {}) {
    auto p = std::make_shared<std::promise<dlrd::status::answer>>();
    auto f = p->get_future();
    api.handle({method, target, body}, [p](dlrd::status::answer a) { p->set_value(std::move(a)); });
    return f;
  }
};

TEST_F(status_test, a_long_poll_that_cannot_reach_the_database_is_refused_and_frees_its_place) {
  dlrd::status::status_api_config c;
  c.max_wait = 20s;
  c.max_waiters = 1;
  // Nothing listens on port 1: every connect fails at once.
  dlrd::status::service api(c, "postgresql://postgres@127.0.0.1:1/dlrd?connect_timeout=2");
  api.start();
  caller client{api};
  for (int i = 0; i < 3; ++i) {
    auto waited = client.call("GET", "/v1/messages/w1?wait=15s");
    ASSERT_EQ(waited.wait_for(10s), std::future_status::ready) << "a waiter was never answered";
    auto a = waited.get();
    EXPECT_EQ(a.status, 503);
    // Refused for the database each time, never for a place still held by an earlier waiter.
    EXPECT_NE(a.error.find("database unavailable"), std::string::npos) << a.error;
  }
  EXPECT_EQ(api.counters().waiting, 0u);
  api.stop();
}

TEST_F(status_test, the_service_answers_lookups_sends_and_wakes_a_waiter_when_the_writer_commits) {
  dlrd::status::status_api_config c;
  c.max_wait = 20s;
  dlrd::status::service api(c, url());
  api.start();
  caller client{api};

  auto unknown = client.call("GET", "/v1/messages/nope").get();
  EXPECT_EQ(unknown.status, 404);
  EXPECT_FALSE(unknown.error.empty());
  EXPECT_EQ(client.call("GET", "/v1/messages/x?wait=soon").get().status, 400);

  auto sent = client.call("POST", "/v1/messages",
                          R"({"message_id":"w1","to":"+49 151 12345678","from":"ACME","tags":["otp"],"parts":1,
                              "cost":0.05,"provider":"smspm","text":"Your code"})")
                  .get();
  ASSERT_EQ(sent.status, 200) << sent.error;
  auto j = nlohmann::json::parse(sent.body);
  EXPECT_EQ(j["status"], "pending");
  EXPECT_EQ(j["final"], false);
  EXPECT_EQ(j["to_number"], "+4915112345678");
  EXPECT_EQ(j["country_code"], "DE");
  // cost_eur is the article's NUMERIC(10,6): what it cannot hold is refused, naming the field.
  auto too_costly = client.call("POST", "/v1/messages", R"({"message_id":"w2","cost_eur":12345})").get();
  EXPECT_EQ(too_costly.status, 400);
  EXPECT_EQ(too_costly.field, "cost_eur") << too_costly.error;
  EXPECT_EQ(client.call("POST", "/v1/messages", R"({"message_id":"w3","cost_eur":"9999.5"})").get().status, 200);
  EXPECT_EQ(j["tags"], nlohmann::json::array({"otp"}));

  auto waiting = client.call("GET", "/v1/messages/w1?wait=15s");
  for (int i = 0; i < 200 && api.counters().waiting == 0; ++i) std::this_thread::sleep_for(10ms);
  // Registered in the database before the report is written.
  for (int i = 0; i < 200; ++i) {
    if (query(url(), "SELECT count(*) FROM dlr_status_waiters WHERE message_id = 'w1'")[0][0].as<int>() == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(waiting.wait_for(200ms), std::future_status::timeout) << "answered before the message was final";
  auto w = make_writer();
  std::vector<ingest_record> final_report{
      make_report("w1", status::undelivered, "UNDELIV", dlrd::report::now().time_since_epoch().count(), "34")};
  w.write(final_report, never_stop_);
  auto committed = std::chrono::steady_clock::now();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto latency = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - committed).count();
  std::printf("[ status ] wake-up %.1f ms after the writer's commit returned\n", latency);
  auto woken = waiting.get();
  ASSERT_EQ(woken.status, 200);
  j = nlohmann::json::parse(woken.body);
  EXPECT_EQ(j["status"], "undelivered");
  EXPECT_EQ(j["final"], true);
  EXPECT_EQ(j["retryable"], true);
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_EQ(j["error_code"], "34");
  ASSERT_EQ(j["history"].size(), 1u);
  EXPECT_EQ(j["history"][0]["raw_status"], "UNDELIV");

  // Already final: the wait answers at once.
  auto at_once = client.call("GET", "/v1/messages/w1?wait=15s");
  ASSERT_EQ(at_once.wait_for(5s), std::future_status::ready);

  // A pending message times out with its current state.
  client.call("POST", "/v1/messages", R"({"message_id":"w2"})").get();
  auto t0 = std::chrono::steady_clock::now();
  auto timeout = client.call("GET", "/v1/messages/w2?wait=300ms").get();
  ASSERT_EQ(timeout.status, 200) << timeout.error;
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  j = nlohmann::json::parse(timeout.body);
  EXPECT_EQ(j["status"], "pending");
  EXPECT_EQ(j["timed_out"], true);
  EXPECT_EQ(j["retryable"], false);

  // Batch: one final, one woken, one not heard of yet (waited for until its first report).
  client.call("POST", "/v1/messages", R"({"message_id":"w3"})").get();
  auto batch = client.call("POST", "/v1/messages:wait", R"({"ids":["w1","w3","ghost"],"wait":"15s"})");
  for (int i = 0; i < 200 && api.counters().waiting == 0; ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(batch.wait_for(0ms), std::future_status::timeout);
  write({make_report("w3", status::rejected, "REJECTD", dlrd::report::now().time_since_epoch().count())});
  EXPECT_EQ(batch.wait_for(300ms), std::future_status::timeout) << "ghost has no report yet";
  write({make_report("ghost", status::delivered, "DELIVRD", dlrd::report::now().time_since_epoch().count())});
  ASSERT_EQ(batch.wait_for(10s), std::future_status::ready);
  auto batch_answer = batch.get();
  ASSERT_EQ(batch_answer.status, 200) << batch_answer.error;
  j = nlohmann::json::parse(batch_answer.body);
  EXPECT_EQ(j["all_final"], true);
  EXPECT_EQ(j["timed_out"], false);
  EXPECT_EQ(j["unknown"], nlohmann::json::array());
  ASSERT_EQ(j["messages"].size(), 3u);
  EXPECT_EQ(j["messages"][1]["status"], "rejected");
  EXPECT_EQ(j["messages"][1]["retryable"], false);
  EXPECT_EQ(j["messages"][2]["status"], "delivered");

  // Stop answers whoever still waits, at once.
  client.call("POST", "/v1/messages", R"({"message_id":"w4"})").get();
  auto left = client.call("GET", "/v1/messages/w4?wait=20s");
  for (int i = 0; i < 500; ++i) {  // registered (not merely queued: a queued request is refused at stop)
    if (query(url(), "SELECT count(*) FROM dlr_status_waiters WHERE message_id = 'w4'")[0][0].as<int>() == 1) break;
    std::this_thread::sleep_for(10ms);
  }
  api.stop();
  ASSERT_EQ(left.wait_for(1s), std::future_status::ready);
  auto left_answer = left.get();
  ASSERT_EQ(left_answer.status, 200) << left_answer.error;
  EXPECT_EQ(nlohmann::json::parse(left_answer.body)["timed_out"], true);
  EXPECT_EQ(client.call("GET", "/v1/messages/w1").get().status, 503);
}

TEST_F(status_test, waking_many_long_polls_on_one_id_costs_work_linear_in_the_waiters_and_one_render) {
  // 3,000 GETs wait on one message; one commit wakes them all. Removing each from the index
  // must not scan the others (quadratic: ~4.5 million steps), and the one state read for the
  // message is rendered once, not once per waiter.
  constexpr std::uint64_t waiters = 3'000;
  dlrd::status::status_api_config c;
  c.max_wait = 60s;
  c.connections = 1;  // jobs run in order: the lookup below runs after every registration
  dlrd::status::service api(c, url());
  api.start();
  caller client{api};
  ASSERT_EQ(client.call("POST", "/v1/messages", R"({"message_id":"many"})").get().status, 200);
  std::vector<std::future<dlrd::status::answer>> waiting;
  for (std::uint64_t i = 0; i < waiters; ++i) waiting.push_back(client.call("GET", "/v1/messages/many?wait=50s"));
  ASSERT_EQ(client.call("GET", "/v1/messages/many").get().status, 200);
  ASSERT_EQ(api.counters().waiting, waiters);
  const auto before = api.counters();
  write({make_report("many", status::delivered, "DELIVRD", dlrd::report::now().time_since_epoch().count())});
  for (auto& f : waiting) {
    ASSERT_EQ(f.wait_for(30s), std::future_status::ready);
    auto a = f.get();
    ASSERT_EQ(a.status, 200) << a.error;
    ASSERT_EQ(nlohmann::json::parse(a.body)["status"], "delivered");
  }
  const auto after = api.counters();
  EXPECT_EQ(after.waiting, 0u);
  EXPECT_EQ(after.woken - before.woken, waiters);
  std::printf("[ status ] %llu waiters on one id: %llu index steps, %llu renders to wake them\n",
              static_cast<unsigned long long>(waiters),
              static_cast<unsigned long long>(after.index_steps - before.index_steps),
              static_cast<unsigned long long>(after.renders - before.renders));
  EXPECT_LE(after.index_steps - before.index_steps, 4 * waiters);
  EXPECT_LE(after.renders - before.renders, 2u);
  api.stop();
}

TEST_F(status_test, timing_out_many_long_polls_on_one_id_costs_work_linear_in_the_waiters) {
  // The timer answers waiters in deadline order, which is registration order: removing each
  // from the id's index must not walk past the ones registered after it.
  constexpr std::uint64_t waiters = 3'000;
  dlrd::status::status_api_config c;
  c.connections = 1;
  dlrd::status::service api(c, url());
  api.start();
  caller client{api};
  ASSERT_EQ(client.call("POST", "/v1/messages", R"({"message_id":"slow"})").get().status, 200);
  const auto before = api.counters();
  std::vector<std::future<dlrd::status::answer>> waiting;
  for (std::uint64_t i = 0; i < waiters; ++i) waiting.push_back(client.call("GET", "/v1/messages/slow?wait=1s"));
  for (auto& f : waiting) {
    ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
    auto a = f.get();
    ASSERT_EQ(a.status, 200) << a.error;
    ASSERT_EQ(nlohmann::json::parse(a.body)["timed_out"], true);
  }
  const auto after = api.counters();
  EXPECT_EQ(after.waiting, 0u);
  EXPECT_EQ(after.timed_out - before.timed_out, waiters);
  std::printf("[ status ] %llu waiters on one id timed out: %llu index steps, %llu renders\n",
              static_cast<unsigned long long>(waiters),
              static_cast<unsigned long long>(after.index_steps - before.index_steps),
              static_cast<unsigned long long>(after.renders - before.renders));
  EXPECT_LE(after.index_steps - before.index_steps, 4 * waiters);
  api.stop();
}

}  // namespace
