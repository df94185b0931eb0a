// Alerts end to end, in process: the writer's failure notices reach a real local HTTP receiver
// through the dispatcher's webhook sink; failures delay but never lose; bursts become a digest.
#include <dlrd/alert/dispatcher.hpp>
#include <dlrd/store/writer.hpp>

#include "harness.hpp"
#include "webhook_receiver.hpp"
#include "support/pg_fixture.hpp"
#include "support/report_gen.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

namespace {

using dlrd::report::status;
using dlrd::test::make_report;
using dlrd::test::query;
using dlrd::e2e::receiver;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::int64_t t0 = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z in microseconds

class alert_e2e_test : public dlrd::test::pg_test {
 protected:
  dlrd::store::database_config db() const { return {url(), std::chrono::seconds(2), false}; }

  void write_failures(int n, int delivered = 0) {
    dlrd::store::store_config sc;
    dlrd::store::writer w(db(), sc);
    std::vector<dlrd::report::ingest_record> batch;
    for (int i = 0; i < n; ++i) {
      auto r = make_report("f" + std::to_string(i), i % 3 == 0 ? status::rejected : status::undelivered,
                           i % 3 == 0 ? "REJECTD" : "UNDELIV", t0 + i, "34");
      r.recipient = i % 2 == 0 ? "+4915112345678" : "+33612345678";
      batch.emplace_back(r);
    }
    for (int i = 0; i < delivered; ++i) batch.emplace_back(make_report("d" + std::to_string(i), status::delivered, "DELIVRD", t0));
    std::atomic<bool> never{false};
    ASSERT_EQ(w.write(batch, never).notices, static_cast<std::size_t>(n));
  }

  dlrd::alert::alert_config config(const receiver& r, int max_per_minute = 1000) const {
    dlrd::alert::alert_config c;
    c.poll_interval = milliseconds(50);
    c.retry.initial = milliseconds(100);
    c.retry.max = milliseconds(300);
    c.batch = 1000;
    dlrd::alert::sink_config s;
    s.name = "hook";
    s.type = "webhook";
    s.url = r.url();
    s.bearer_token = "t0ken";
    s.headers = {{"X-Team", "sms"}};
    s.allow_private = true;
    s.max_per_minute = max_per_minute;
    s.connect_timeout = milliseconds(500);
    s.timeout = milliseconds(2000);
    c.sinks = {s};
    return c;
  }

  int sent_in_db() const {
    return query(url(), "SELECT count(*) FROM dlr_alert_delivery WHERE sink = 'hook' AND sent_at IS NOT NULL")[0][0]
        .as<int>();
  }

  bool wait_for_sent(int n, milliseconds limit = milliseconds(15'000)) const {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      if (sent_in_db() >= n) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
};

TEST_F(alert_e2e_test, failures_written_by_the_writer_reach_the_webhook_as_documented_json) {
  receiver hook;
  write_failures(3, 2);
  dlrd::alert::dispatcher d(db(), config(hook));
  d.start();
  ASSERT_TRUE(wait_for_sent(3));
  d.stop();
  auto got = hook.delivered();
  ASSERT_EQ(got.size(), 3u);
  std::set<std::string> ids;
  for (const auto& j : got) {
    EXPECT_EQ(j["type"], "message_failed");
    ids.insert(j["message_id"].get<std::string>());
    EXPECT_TRUE(j["status"] == "undelivered" || j["status"] == "rejected");
    EXPECT_EQ(j["error_code"], "34");
    EXPECT_EQ(j["provider"], "smspm");
    EXPECT_TRUE(j["country"] == "DE" || j["country"] == "FR") << j.dump();
    EXPECT_TRUE(j["recipient"].is_string());
    EXPECT_TRUE(j["notice_id"].is_number());
    EXPECT_TRUE(j["status_at"].get<std::string>().starts_with("2024-05-01T12:00:00."));
    EXPECT_TRUE(j["noticed_at"].is_string());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"f0", "f1", "f2"}));
  auto head = hook.requests().front().head;
  EXPECT_NE(head.find("Authorization: Bearer t0ken"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Team: sms"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
  auto c = d.counters();
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].sent, 3u);
  EXPECT_EQ(c[0].failed, 0u);
}

TEST_F(alert_e2e_test, a_receiver_failing_for_a_while_delays_but_never_loses_notices) {
  receiver hook(/*fail_first=*/6);
  write_failures(5);
  dlrd::alert::dispatcher d(db(), config(hook));
  d.start();
  ASSERT_TRUE(wait_for_sent(5));
  d.stop();
  std::set<std::string> ids;
  for (const auto& j : hook.delivered()) ids.insert(j["message_id"].get<std::string>());
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(hook.delivered().size(), 5u);  // each notice delivered once
  EXPECT_GE(d.counters()[0].failed, 6u);
  EXPECT_GE(query(url(), "SELECT max(attempts) FROM dlr_alert_delivery")[0][0].as<int>(), 2);
}

TEST_F(alert_e2e_test, a_burst_of_500_failures_with_a_limit_of_10_arrives_as_10_messages_and_one_digest) {
  receiver hook;
  write_failures(500);
  dlrd::alert::dispatcher_options opts;
  opts.rate_window = milliseconds(1500);  // the limit's minute, shortened for the test
  dlrd::alert::dispatcher d(db(), config(hook, 10), opts);
  d.start();
  ASSERT_TRUE(wait_for_sent(500));
  d.stop();
  auto got = hook.delivered();
  std::size_t singles = 0, digests = 0, digested = 0;
  for (const auto& j : got) {
    if (j["type"] == "message_failed") ++singles;
    if (j["type"] == "digest") {
      ++digests;
      digested += j["count"].get<std::size_t>();
      EXPECT_TRUE(j["text"].get<std::string>().starts_with("490 more failures: ")) << j.dump();
      EXPECT_NE(j["text"].get<std::string>().find("top countries: "), std::string::npos);
    }
  }
  EXPECT_EQ(singles, 10u);
  EXPECT_EQ(digests, 1u);
  EXPECT_EQ(digested, 490u);
  auto c = d.counters()[0];
  EXPECT_EQ(c.sent, 10u);
  EXPECT_EQ(c.digested, 490u);
  EXPECT_EQ(c.digests, 1u);
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_delivery WHERE digested")[0][0].as<int>(), 490);
}

TEST_F(alert_e2e_test, stop_returns_promptly_while_a_sink_hangs) {
  // A listener that accepts and never answers.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  receiver unused;
  auto c = config(unused);
  c.sinks[0].url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/hook";
  c.sinks[0].timeout = milliseconds(30'000);
  write_failures(2);
  dlrd::alert::dispatcher d(db(), c);
  d.start();
  std::this_thread::sleep_for(milliseconds(500));  // the first send is now hanging
  auto started = std::chrono::steady_clock::now();
  d.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1500));
  ::close(fd);
  // Nothing was lost: both notices are still open and due at once for the next start.
  EXPECT_EQ(query(url(), "SELECT count(*) FROM dlr_alert_delivery WHERE sent_at IS NULL AND dropped_reason IS NULL "
                         "AND next_attempt_at <= now()")[0][0]
                .as<int>(),
            2);
}

TEST_F(alert_e2e_test, the_real_daemon_notices_each_failed_message_once_at_a_local_webhook) {
  receiver hook(/*fail_first=*/2);
  dlrd::e2e::temp_dir dir;
  dlrd::e2e::daemon d(dir.path(), url(),
                      // One writer: the reports are committed in the order they were acked.
                      "store:\n  workers: 1\n"
                      "alerts:\n  poll_interval: 100ms\n  retry:\n    initial: 100ms\n    max: 300ms\n"
                      "  rules: []\n  sinks:\n    - name: hook\n      type: webhook\n      url: " +
                          hook.url() + "\n      allow_private: true\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  dlrd::e2e::client c(d.port());
  // Three messages fail (one of them reported twice and once more later as another
  // failure), one is delivered after an earlier failure report arrives late.
  constexpr const char* bodies[] = {
      R"({"messageId":"rd-1","status":"UNDELIV","to":"+4915112345678","timestamp":"2026-11-28T10:00:01Z","errorCode":"34"})",
      R"({"messageId":"rd-1","status":"UNDELIV","to":"+4915112345678","timestamp":"2026-11-28T10:00:01Z","errorCode":"34"})",
      R"({"messageId":"rd-1","status":"EXPIRED","to":"+4915112345678","timestamp":"2026-11-28T10:05:00Z"})",
      R"({"messageId":"rd-2","status":"REJECTD","to":"+33612345678","timestamp":"2026-11-28T10:00:02Z"})",
      R"({"messageId":"rd-3","status":"expired","to":"+447700900123","timestamp":"2026-11-28T10:00:03Z"})",
      R"({"messageId":"rd-4","status":"delivered","to":"+447700900124","timestamp":"2026-11-28T10:00:04Z"})",
      R"({"messageId":"rd-4","status":"undelivered","to":"+447700900124","timestamp":"2026-11-28T09:59:00Z"})",
  };
  for (const char* b : bodies) ASSERT_EQ(c.post("/webhooks/smspm", b).status, 200);

  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until && hook.delivered().size() < 3) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::this_thread::sleep_for(milliseconds(500));  // room for a (wrong) extra notice to show up
  auto got = hook.delivered();
  std::multiset<std::string> ids;
  for (const auto& j : got) ids.insert(j["message_id"].get<std::string>());
  EXPECT_EQ(ids, (std::multiset<std::string>{"rd-1", "rd-2", "rd-3"})) << d.log();
  for (const auto& j : got) {
    EXPECT_EQ(j["type"], "message_failed");
    if (j["message_id"] == "rd-1") {
      // The notice carries the state the row moved into: the first failure, or the later
      // expiry when both arrived in one batch. Either way, one notice.
      EXPECT_TRUE(j["status"] == "undelivered" || j["status"] == "expired") << j.dump();
      EXPECT_EQ(j["country"], "DE");
    }
  }
  // The sink's results are in /metrics: three sent, failed attempts (the receiver refused
  // the first two requests, each failing the notices it carried), nothing dropped.
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("dlrd_alert_notices_total{sink=\"hook\",result=\"sent\"} 3\n"), std::string::npos) << metrics;
  const std::string failed_series = "dlrd_alert_notices_total{sink=\"hook\",result=\"failed\"} ";
  auto at = metrics.find(failed_series);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stoi(metrics.substr(at + failed_series.size())), 2) << metrics;
  EXPECT_NE(metrics.find("dlrd_alert_notices_total{sink=\"hook\",result=\"dropped\"} 0\n"), std::string::npos) << metrics;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(std::chrono::seconds(30)), 0) << d.log();
}

TEST_F(alert_e2e_test, a_reload_moves_notices_to_the_new_sink_and_keeps_the_counters) {
  receiver first_hook, second_hook;
  dlrd::e2e::temp_dir dir;
  auto sinks = [](const std::string& name, const receiver& r) {
    return "  sinks:\n    - name: " + name + "\n      type: webhook\n      url: " + r.url() +
           "\n      allow_private: true\n";
  };
  dlrd::e2e::daemon d(dir.path(), url(), "alerts:\n  poll_interval: 100ms\n  rules: []\n" + sinks("first", first_hook));
  dlrd::e2e::write_file(d.config_path(), std::regex_replace(dlrd::e2e::read_file(d.config_path()),
                                                            std::regex("level: warn"), "level: info"));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  dlrd::e2e::client c(d.port());
  auto failed = [](const std::string& id) {
    return R"({"messageId":")" + id + R"(","status":"UNDELIV","to":"+4915112345678","timestamp":"2026-11-28T10:00:01Z"})";
  };
  auto wait_for = [](const receiver& r, std::size_t n) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until && r.delivered().size() < n) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    return r.delivered().size();
  };
  ASSERT_EQ(c.post("/webhooks/smspm", failed("sw-1")).status, 200);
  ASSERT_EQ(wait_for(first_hook, 1), 1u) << d.log();

  // The same file with the sink replaced; the failed statuses change too, which needs a restart.
  auto text = dlrd::e2e::read_file(d.config_path());
  auto at = text.find("  sinks:\n");
  ASSERT_NE(at, std::string::npos);
  text = text.substr(0, at) + "  failed_statuses: [undelivered]\n" + sinks("second", second_hook) +
         text.substr(text.find("allow_private: true\n", at) + 20);
  dlrd::e2e::write_file(d.config_path(), text);
  d.signal(SIGHUP);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until && d.log().find("alert sinks replaced") == std::string::npos) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_NE(d.log().find("alert sinks replaced; now sending to second"), std::string::npos) << d.log();
  EXPECT_NE(d.log().find("alerts.failed_statuses changed"), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("store.* changed"), std::string::npos) << d.log();

  ASSERT_EQ(c.post("/webhooks/smspm", failed("sw-2")).status, 200);
  // A new sink name is a new sink: it starts from the outbox's start (notices younger than
  // max_age), so it gets the earlier notice too; the old sink gets nothing more.
  ASSERT_EQ(wait_for(second_hook, 2), 2u) << d.log();
  std::this_thread::sleep_for(milliseconds(500));  // room for a (wrong) extra notice
  std::multiset<std::string> ids;
  for (const auto& j : second_hook.delivered()) ids.insert(j["message_id"].get<std::string>());
  EXPECT_EQ(ids, (std::multiset<std::string>{"sw-1", "sw-2"}));
  EXPECT_EQ(first_hook.delivered().size(), 1u);

  auto metrics = c.get("/metrics").body;
  // The removed sink keeps its total; the new one counts its own.
  EXPECT_NE(metrics.find("dlrd_alert_notices_total{sink=\"first\",result=\"sent\"} 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("dlrd_alert_notices_total{sink=\"second\",result=\"sent\"} 2\n"), std::string::npos) << metrics;

  // A knob of the same sink changes: it carries on from its cursor, nothing is sent twice,
  // and its counter carries on from 2.
  text = dlrd::e2e::read_file(d.config_path());
  dlrd::e2e::write_file(d.config_path(), std::regex_replace(text, std::regex("poll_interval: 100ms"), "poll_interval: 150ms"));
  d.signal(SIGHUP);
  until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until &&
         d.log().find("alert sinks replaced") == d.log().rfind("alert sinks replaced")) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_EQ(c.post("/webhooks/smspm", failed("sw-3")).status, 200);
  ASSERT_EQ(wait_for(second_hook, 3), 3u) << d.log();
  std::this_thread::sleep_for(milliseconds(500));
  ids.clear();
  for (const auto& j : second_hook.delivered()) ids.insert(j["message_id"].get<std::string>());
  EXPECT_EQ(ids, (std::multiset<std::string>{"sw-1", "sw-2", "sw-3"})) << d.log();
  metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("dlrd_alert_notices_total{sink=\"second\",result=\"sent\"} 3\n"), std::string::npos) << metrics;
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(std::chrono::seconds(30)), 0) << d.log();
}

TEST_F(alert_e2e_test, a_rate_rule_that_fires_reaches_the_webhook_as_a_rule_notice_even_past_the_limit) {
  receiver hook;
  dlrd::e2e::temp_dir dir;
  dlrd::e2e::daemon d(dir.path(), url(),
                      "alerts:\n  poll_interval: 100ms\n"
                      "  rules:\n    - name: failing\n      window: 1h\n      failed_share_above: 0.1\n"
                      "      min_messages: 10\n      interval: 1s\n"
                      "  sinks:\n    - name: hook\n      type: webhook\n      url: " +
                          hook.url() + "\n      allow_private: true\n      max_per_minute: 2\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  dlrd::e2e::client c(d.port());
  ASSERT_EQ(dlrd::e2e::post_reports_now(c, "rr", 20, 5), 20);  // 25% failed
  auto rule_notices = [&hook] {
    std::vector<json> out;
    for (const auto& j : hook.delivered()) {
      if (j["type"] == "rate_rule_fired") out.push_back(j);
    }
    return out;
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && rule_notices().empty()) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  auto rules = rule_notices();
  ASSERT_EQ(rules.size(), 1u) << d.log();
  EXPECT_EQ(rules[0]["rule"], "failing");
  EXPECT_EQ(rules[0]["group_key"], "");
  EXPECT_EQ(rules[0]["failed"], 5);
  EXPECT_EQ(rules[0]["total"], 20);
  EXPECT_DOUBLE_EQ(rules[0]["share"].get<double>(), 0.25);
  EXPECT_EQ(rules[0]["text"], "Rate rule failing fired: 25.00% failed (5 of 20 final messages in 1h; fires above 10.00%)");
  // The five failures themselves: two sent one by one (the limit), the rest held for a digest.
  std::size_t failures = 0;
  for (const auto& j : hook.delivered()) failures += j["type"] == "message_failed" ? 1 : 0;
  EXPECT_EQ(failures, 2u);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(std::chrono::seconds(30)), 0) << d.log();
}

TEST_F(alert_e2e_test, an_undecodable_callback_reaches_the_webhook_as_a_quarantine_notice) {
  receiver hook;
  dlrd::e2e::temp_dir dir;
  dlrd::e2e::daemon d(dir.path(), url(),
                      "alerts:\n  poll_interval: 100ms\n  rules: []\n  sinks:\n    - name: hook\n      type: webhook\n"
                      "      url: " + hook.url() + "\n      allow_private: true\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  dlrd::e2e::client c(d.port());
  auto r = c.post("/webhooks/smspm", R"({"status":"delivered","to":"+447700900123"})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true,"quarantined":true})");
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until && hook.delivered().empty()) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::this_thread::sleep_for(milliseconds(300));  // room for a (wrong) second notice
  auto got = hook.delivered();
  ASSERT_EQ(got.size(), 1u) << d.log();
  EXPECT_EQ(got[0]["type"], "payload_quarantined");
  EXPECT_EQ(got[0]["provider"], "smspm");
  EXPECT_FALSE(got[0]["reason"].get<std::string>().empty());
  auto id = query(url(), "SELECT id FROM dlr_quarantine")[0][0].as<std::int64_t>();
  EXPECT_EQ(got[0]["quarantine_id"], id);
  EXPECT_NE(got[0]["text"].get<std::string>().find("dlrd quarantine list --id " + std::to_string(id)),
            std::string::npos);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(std::chrono::seconds(30)), 0) << d.log();
}

}  // namespace
