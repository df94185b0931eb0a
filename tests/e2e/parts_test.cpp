// A long message sent in parts, each reported by Vonage under its own id: the sender
// registers the parts with the send, and the message's row follows its parts.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

std::string vonage_receipt(const std::string& part_id, const std::string& status, const std::string& scts,
                           const std::string& err = "0") {
  return "/webhooks/vonage?msisdn=447700900000&to=AcmeInc&messageId=" + part_id + "&status=" + status +
         "&scts=" + scts + "&err-code=" + err;
}

/// Polls GET /v1/messages/{id} until its raw status is `want` (or 10 s pass); the last state.
nlohmann::json state_when(client& c, const std::string& id, const std::string& want) {
  nlohmann::json j;
  for (int i = 0; i < 200; ++i) {
    auto r = c.get("/v1/messages/" + id);
    j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 200 && j.is_object() && j["raw_status"] == want) break;
    std::this_thread::sleep_for(50ms);
  }
  return j;
}

TEST(long_messages, parts_reported_by_vonage_one_by_one_decide_the_message) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());

  // Two long messages of three parts each; Vonage returned one id per part at send time.
  for (const char* m : {"otp-long-1", "otp-long-2"}) {
    std::string id(m);
    auto body = nlohmann::json{{"message_id", id}, {"to", "+447700900000"},
                               {"part_ids", {id + "-a", id + "-b", id + "-c"}}}.dump();
    ASSERT_EQ(c.post("/v1/messages", body).status, 200);
  }
  // Bad part lists are refused with the field named.
  auto bad = c.post("/v1/messages", R"({"message_id":"x","part_ids":["x"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(nlohmann::json::parse(bad.body)["field"], "part_ids");

  // Message 1: every part delivered, the last receipt first.
  EXPECT_EQ(c.get(vonage_receipt("otp-long-1-c", "delivered", "2601011402")).status, 200);
  EXPECT_EQ(c.get(vonage_receipt("otp-long-1-a", "delivered", "2601011400")).status, 200);
  auto one = state_when(c, "otp-long-1", "2/3 parts delivered");
  EXPECT_EQ(one["status"], "pending") << one.dump();
  EXPECT_EQ(c.get(vonage_receipt("otp-long-1-b", "delivered", "2601011401")).status, 200);
  one = state_when(c, "otp-long-1", "3/3 parts delivered");
  EXPECT_EQ(one["status"], "delivered") << one.dump();
  EXPECT_EQ(one["raw_status"], "3/3 parts delivered");
  EXPECT_EQ(one["final"], true);

  // Message 2: one part expired at the carrier: the message is expired, retryable.
  EXPECT_EQ(c.get(vonage_receipt("otp-long-2-a", "delivered", "2601011400")).status, 200);
  EXPECT_EQ(c.get(vonage_receipt("otp-long-2-b", "expired", "2601011405", "5")).status, 200);
  auto two = state_when(c, "otp-long-2", "part 2/3: expired");
  EXPECT_EQ(two["status"], "expired") << two.dump();
  EXPECT_EQ(two["raw_status"], "part 2/3: expired");
  EXPECT_EQ(two["error_code"], "5");
  EXPECT_EQ(two["retryable"], true);

  // The parts are no messages of their own, and each receipt is kept.
  EXPECT_EQ(c.get("/v1/messages/otp-long-1-a").status, 404);
  auto events = test::query(db.url(), "SELECT count(*) FROM dlr_events WHERE message_id LIKE 'otp-long-%'");
  EXPECT_EQ(events[0][0].as<int>(), 5);
}

}  // namespace
}  // namespace dlrd::e2e
