// dlrd's own expiry through the real daemon and a local webhook sink: an OTP rule gives up on
// a message, which keeps its carrier, says expired_by "policy", is noticed once in its own
// kind, stays out of a carrier failure-rate rule (and in one that opts in), and a carrier's
// later `delivered` still wins.
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

std::vector<json> of_type(const receiver& hook, const std::string& type) {
  std::vector<json> out;
  for (const auto& j : hook.delivered()) {
    if (j["type"] == type) out.push_back(j);
  }
  return out;
}

/// Polls until `done()` or 10 s pass.
template <typename Done>
bool eventually(Done done) {
  for (auto deadline = clock::now() + 10s; clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
    if (done()) return true;
  }
  return done();
}

constexpr const char* config_yaml =
    "expiry:\n  interval: 1s\n  rules:\n    - name: otp\n      match: {tag: otp}\n      after: 1s\n"
    "alerts:\n  poll_interval: 100ms\n"
    "  rules:\n"
    "    - {name: carrier-failures, failed_share_above: 0.05, min_messages: 1, interval: 1s}\n"
    "    - {name: with-policy, failed_share_above: 0.05, min_messages: 1, include_policy_expiry: true, "
    "interval: 1s}\n";

TEST(policy_expiry, an_otp_rule_expires_a_message_apart_from_carrier_failures_and_a_later_delivered_wins) {
  test::pg_database db;
  temp_dir dir;
  receiver hook;
  daemon d(dir.path(), db.url(),
           std::string(config_yaml) + "  sinks:\n    - name: hook\n      type: webhook\n      url: " + hook.url() +
               "\n      allow_private: true\n");
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client app(d.port()), gateway(d.port());
  ASSERT_EQ(app.post("/v1/messages", R"({"message_id":"otp-1","to":"+447700900123","provider":"smspm","tags":["otp"]})")
                .status,
            200);
  ASSERT_EQ(app.post("/v1/messages", R"({"message_id":"ok-1","to":"+447700900124","provider":"smspm"})").status, 200);
  ASSERT_EQ(gateway.post("/webhooks/smspm", R"({"messageId":"ok-1","status":"delivered"})").status, 200);

  // The rule gives up on otp-1 (no report within 1 s): one notice of its own kind.
  ASSERT_TRUE(eventually([&] { return !of_type(hook, "message_expired_by_policy").empty(); })) << d.log();
  auto notice = of_type(hook, "message_expired_by_policy")[0];
  EXPECT_EQ(notice["message_id"], "otp-1");
  EXPECT_EQ(notice["expired_by"], "policy");
  EXPECT_EQ(notice["rule"], "otp");
  EXPECT_EQ(notice["provider"], "smspm");
  EXPECT_TRUE(of_type(hook, "message_failed").empty()) << "a policy expiry is not a failure notice";

  auto j = json::parse(app.get("/v1/messages/otp-1").body);
  EXPECT_EQ(j["status"], "expired");
  EXPECT_EQ(j["expired_by"], "policy");
  EXPECT_EQ(j["raw_status"], "dlrd:expired:otp");
  EXPECT_EQ(j["provider"], "smspm") << "the carrier the send went through, not dlrd";
  EXPECT_EQ(j["retryable"], true);

  // The rule that opts in counts the expiry (1 of 2 finals); the carrier rule sees 1 delivered.
  ASSERT_TRUE(eventually([&] { return !of_type(hook, "rate_rule_fired").empty(); })) << d.log();
  auto fired = of_type(hook, "rate_rule_fired");
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0]["rule"], "with-policy");
  EXPECT_EQ(fired[0]["failed"], 1);
  EXPECT_EQ(fired[0]["total"], 2);
  auto carrier = test::query(db.url(), "SELECT last_total, last_failed, firing FROM dlr_rule_state "
                                       "WHERE rule = 'carrier-failures'");
  ASSERT_EQ(carrier.size(), 1u);
  EXPECT_EQ(carrier[0][0].as<int>(), 1);
  EXPECT_EQ(carrier[0][1].as<int>(), 0);
  EXPECT_FALSE(carrier[0][2].as<bool>());

  // The carrier delivers after all: its report wins, expired_by is cleared.
  ASSERT_EQ(gateway.post("/webhooks/smspm", R"({"messageId":"otp-1","status":"delivered"})").status, 200);
  ASSERT_TRUE(eventually([&] { return json::parse(app.get("/v1/messages/otp-1").body)["status"] == "delivered"; }));
  j = json::parse(app.get("/v1/messages/otp-1").body);
  EXPECT_TRUE(j["expired_by"].is_null());
  EXPECT_EQ(j["provider"], "smspm");
  // The opted-in rule resolves on it; still one policy notice and no failure notice.
  ASSERT_TRUE(eventually([&] { return !of_type(hook, "rate_rule_resolved").empty(); })) << d.log();
  EXPECT_EQ(of_type(hook, "message_expired_by_policy").size(), 1u);
  EXPECT_TRUE(of_type(hook, "message_failed").empty());
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

}  // namespace
}  // namespace dlrd::e2e
