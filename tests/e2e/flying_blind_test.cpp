// The seed's two ways of "flying blind", through the real daemon and a local webhook sink: a
// gateway that stops calling while sends to it go on (the silence rule), and a market whose
// reports never come (the coverage rule, evaluated once by the leader of two instances).
#include "harness.hpp"
#include "webhook_receiver.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using clock = std::chrono::steady_clock;

/// The rule notices (fired or resolved) the sink received so far.
std::vector<json> rule_notices(const receiver& hook) {
  std::vector<json> out;
  for (const auto& j : hook.delivered()) {
    if (j["type"] == "rate_rule_fired" || j["type"] == "rate_rule_resolved") out.push_back(j);
  }
  return out;
}

/// Runs `tick` every 100 ms until the sink holds `n` rule notices or 15 s pass.
template <typename Tick>
std::vector<json> wait_for_notices(const receiver& hook, std::size_t n, Tick tick) {
  auto deadline = clock::now() + 15s;
  while (rule_notices(hook).size() < n && clock::now() < deadline) {
    tick();
    std::this_thread::sleep_for(100ms);
  }
  return rule_notices(hook);
}

std::string sink_yaml(const receiver& hook) {
  return "  sinks:\n    - name: hook\n      type: webhook\n      url: " + hook.url() + "\n      allow_private: true\n";
}

/// The value of dlrd_rate_rules_firing{rule="<rule>"} in /metrics once it is `want` (the
/// round's figures are published just after its notices commit), or the last one read.
double firing_gauge(int port, const std::string& rule, double want) {
  const auto series = "dlrd_rate_rules_firing{rule=\"" + rule + "\"}";
  double value = -1;
  for (auto deadline = clock::now() + 5s; value != want && clock::now() < deadline;) {
    value = metric_value(port, series);
    if (value != want) std::this_thread::sleep_for(50ms);
  }
  return value;
}

std::int64_t seconds_between(const std::string& url, const std::string& earlier, const std::string& later) {
  return test::query(url, "SELECT ceil(extract(epoch FROM (" + later + ") - (" + earlier + ")))::bigint")[0][0]
      .as<std::int64_t>();
}

TEST(flying_blind, a_gateway_that_stops_calling_while_sends_go_on_fires_once_and_its_next_report_resolves) {
  test::pg_database db;
  temp_dir dir;
  receiver hook;
  daemon d(dir.path(), db.url(),
           "alerts:\n  poll_interval: 100ms\n"
           "  rules:\n    - name: gateway-silence\n      silent_for: 3s\n      min_messages: 5\n"
           "      group_by: provider\n      interval: 1s\n" +
               sink_yaml(hook));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client app(d.port()), gateway(d.port());
  int sent = 0;
  // The application keeps sending through smspm (and logs each send) for the whole test.
  auto send = [&] {
    auto id = "s-" + std::to_string(sent++);
    ASSERT_EQ(app.post("/v1/messages", R"({"message_id":")" + id + R"(","to":"+447700900123","provider":"smspm"})")
                  .status,
              200);
  };
  auto report = [&](const std::string& id) {
    ASSERT_EQ(gateway.post("/webhooks/smspm", R"({"messageId":")" + id + R"(","status":"delivered"})").status, 200);
  };
  for (int i = 0; i < 5; ++i) send();
  report("s-0");  // the gateway calls once, then falls quiet

  auto fired = wait_for_notices(hook, 1, send);
  ASSERT_EQ(fired.size(), 1u) << d.log();
  EXPECT_EQ(fired[0]["type"], "rate_rule_fired");
  EXPECT_EQ(fired[0]["rule"], "gateway-silence");
  EXPECT_EQ(fired[0]["threshold_kind"], "silent_for");
  EXPECT_EQ(fired[0]["group_key"], "smspm");
  EXPECT_EQ(fired[0]["reports"], 0);
  // Measured on the database's clock: from the last report stored to the notice written.
  auto delay = seconds_between(db.url(), "SELECT max(stored_at) FROM dlr_events",
                               "SELECT created_at FROM dlr_alert_outbox WHERE kind = 'rate_rule_fired'");
  std::printf("[ silence ] fired %llds after the last report (silent_for 3s, interval 1s)\n",
              static_cast<long long>(delay));
  EXPECT_LE(delay, 3 + 1 + 2) << "silent_for + one interval, and room for a loaded machine";
  EXPECT_EQ(firing_gauge(d.port(), "gateway-silence", 1), 1);

  report("s-1");  // the gateway calls again
  auto both = wait_for_notices(hook, 2, send);
  ASSERT_EQ(both.size(), 2u) << d.log();
  EXPECT_EQ(both[1]["type"], "rate_rule_resolved");
  EXPECT_EQ(both[1]["group_key"], "smspm");
  EXPECT_EQ(firing_gauge(d.port(), "gateway-silence", 0), 0);
  // Two more rounds while the gateway calls again and sends go on: nothing more.
  for (int i = 2; i < 22; ++i) {
    send();
    report("s-" + std::to_string(i));
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(rule_notices(hook).size(), 2u);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

/// 120 sends each to GB (ids gb-0...) and VN (vn-0...) logged as sent between 20 and 60
/// minutes ago, in one transaction.
void log_old_sends(const std::string& url) {
  test::query(url, "SELECT dlr_log_send(c.prefix || '-' || i, '+100', NULL, NULL, now() - interval '20 minutes' - "
                   "i * interval '20 seconds', NULL, NULL, c.country, NULL::text[], 'smspm') "
                   "FROM (VALUES ('gb', 'GB'), ('vn', 'VN')) AS c(prefix, country), generate_series(0, 119) AS i");
}

/// Waits until `n` rows are delivered.
bool wait_delivered(const std::string& url, int n) {
  for (auto deadline = clock::now() + 10s; clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    if (test::query(url, "SELECT count(*) FROM sms_logs WHERE status = 'delivered'")[0][0].as<int>() >= n) return true;
  }
  return false;
}

/// Reports `delivered` for ids <prefix>-0 .. <prefix>-(n-1), in one callback.
void report_delivered(client& gateway, const std::string& prefix, int n) {
  std::string body = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body += ',';
    body += R"({"messageId":")" + prefix + "-" + std::to_string(i) + R"(","status":"delivered"})";
  }
  ASSERT_EQ(gateway.post("/webhooks/smspm", body + "]").status, 200);
}

TEST(flying_blind, a_market_without_reports_fires_the_coverage_rule_once_across_two_instances) {
  test::pg_database db;
  temp_dir dir_a, dir_b;
  receiver hook;
  const std::string yaml = "alerts:\n  poll_interval: 100ms\n"
                           "  rules:\n    - name: country-coverage\n      window: 1h\n      grace: 15m\n"
                           "      pending_share_above: 0.30\n      min_messages: 100\n      group_by: country\n"
                           "      interval: 1s\n" +
                           sink_yaml(hook);
  daemon a(dir_a.path(), db.url(), yaml);
  daemon b(dir_b.path(), db.url(), yaml);
  a.start();
  b.start();
  ASSERT_TRUE(a.wait_ready()) << a.log();
  ASSERT_TRUE(b.wait_ready()) << b.log();
  // GB's 120 messages are reported (through the gateway); VN's 120 never are. The reports
  // are written first and the sends logged after them, all at once, so that no round sees
  // GB's sends without their reports.
  client gateway(a.port());
  report_delivered(gateway, "gb", 120);
  ASSERT_TRUE(wait_delivered(db.url(), 120)) << a.log();
  log_old_sends(db.url());

  auto fired = wait_for_notices(hook, 1, [] {});
  ASSERT_EQ(fired.size(), 1u) << a.log() << b.log();
  EXPECT_EQ(fired[0]["type"], "rate_rule_fired");
  EXPECT_EQ(fired[0]["group_key"], "VN");
  EXPECT_EQ(fired[0]["threshold_kind"], "pending_share_above");
  EXPECT_EQ(fired[0]["pending"], 120);
  EXPECT_EQ(fired[0]["total"], 120);
  // Both instances show it in /metrics, the follower as the leader stored it.
  EXPECT_EQ(firing_gauge(a.port(), "country-coverage", 1), 1);
  EXPECT_EQ(firing_gauge(b.port(), "country-coverage", 1), 1);

  // Reports arrive for VN, through the other instance: resolved, once.
  client other(b.port());
  report_delivered(other, "vn", 120);
  ASSERT_TRUE(wait_delivered(db.url(), 240)) << b.log();
  auto both = wait_for_notices(hook, 2, [] {});
  ASSERT_EQ(both.size(), 2u) << a.log() << b.log();
  EXPECT_EQ(both[1]["type"], "rate_rule_resolved");
  EXPECT_EQ(both[1]["group_key"], "VN");
  EXPECT_EQ(firing_gauge(a.port(), "country-coverage", 0), 0);
  EXPECT_EQ(firing_gauge(b.port(), "country-coverage", 0), 0);
  std::this_thread::sleep_for(2000ms);  // two more rounds of each instance
  EXPECT_EQ(rule_notices(hook).size(), 2u);
  // The leader ran the rule: one notice of each in the shared outbox, never GB's.
  EXPECT_EQ(test::query(db.url(), "SELECT string_agg(kind || ' ' || country, ', ' ORDER BY id) FROM dlr_alert_outbox")
                [0][0]
                    .as<std::string>(),
            "rate_rule_fired VN, rate_rule_resolved VN");
  for (auto* d : {&a, &b}) {
    d->signal(SIGTERM);
    EXPECT_EQ(d->wait_exit(30s), 0) << d->log();
  }
}

}  // namespace
}  // namespace dlrd::e2e
