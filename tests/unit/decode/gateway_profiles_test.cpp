// The plivo, messagebird, routee and clickatell built-in profiles: what their gateways'
// documentation says decides retryability and the event time, beyond the fixtures'
// expectations (tests/support/provider_fixtures.hpp).
#include <dlrd/decode/profile.hpp>

#include <dlrd/config/yaml.hpp>
#include <dlrd/report/time.hpp>

#include "decode_helpers.hpp"
#include "support/provider_fixtures.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dlrd::decode {
namespace {

using namespace test_helpers;

std::string status_of(const report::delivery_report& r) { return std::string(report::to_string(r.canonical)); }

std::string utc(report::time_point t) { return report::format_timestamp(t); }
std::string utc(std::string_view rfc3339) { return report::format_timestamp(*report::parse_timestamp(rfc3339)); }

TEST(plivo_profile, a_zone_less_report_time_is_read_only_when_the_operator_names_its_zone) {
  auto f = test::load_http_fixture("plivo/delivered_post.http");
  const auto media = f.media_type();  // the input holds views: keep the text alive
  auto in = post(media, f.body);
  auto bare = one(builtin("plivo"), in);
  EXPECT_EQ(bare.event_at, received);
  EXPECT_FALSE(bare.event_time_from_gateway);

  // DeliveryReportTime=2024-03-12 09:14:07.551093 (SentTime and QueuedTime are earlier).
  auto in_utc = one(from_yaml("timezone: UTC\n", "plivo"), in);
  EXPECT_EQ(utc(in_utc.event_at), utc("2024-03-12T09:14:07.551093Z"));
  EXPECT_TRUE(in_utc.event_time_from_gateway);
  auto in_india = one(from_yaml("timezone: \"+05:30\"\n", "plivo"), in);
  EXPECT_EQ(utc(in_india.event_at), utc("2024-03-12T03:44:07.551093Z"));
}

TEST(plivo_profile, the_error_code_decides_whether_a_failure_is_retried) {
  const auto& p = builtin("plivo");
  auto with = [&p](std::string_view status, std::string_view code) {
    return one(p, get("MessageUUID=u1&To=14155550101&Status=" + std::string(status) +
                      (code.empty() ? std::string() : "&ErrorCode=" + std::string(code))));
  };
  EXPECT_EQ(status_of(with("failed", "")), "rejected");       // Plivo could not send it at all
  EXPECT_EQ(status_of(with("failed", "40")), "rejected");     // invalid source number
  EXPECT_EQ(status_of(with("failed", "20")), "undelivered");  // network error: temporary
  EXPECT_EQ(status_of(with("undelivered", "30")), "undelivered");
  EXPECT_EQ(status_of(with("sent", "")), "pending");
  auto delivered = with("delivered", "000");
  EXPECT_EQ(status_of(delivered), "delivered");
  EXPECT_EQ(delivered.error_code, std::nullopt);  // 000: successful delivery
}

TEST(messagebird_profile, a_report_names_its_message_with_the_recipient_and_needs_one) {
  const auto& p = builtin("messagebird");
  auto r = one(p, get("id=m1&recipient=31612345678&status=buffered&statusDatetime=2016-05-03T10%3A58%3A10%2B02%3A00"));
  EXPECT_EQ(r.message_id, "m1:+31612345678");
  EXPECT_EQ(status_of(r), "pending");
  EXPECT_EQ(utc(r.event_at), utc("2016-05-03T08:58:10Z"));
  auto e = decode(p, get("id=m1&status=delivered"), received);
  ASSERT_TRUE(std::holds_alternative<profile_error>(e));
  EXPECT_EQ(std::get<profile_error>(e).error.field, "recipient");
}

TEST(routee_profile, the_detailed_status_decides_and_inbound_messages_are_ignored) {
  const auto& p = builtin("routee");
  auto with = [&p](std::string_view name, std::string_view detailed) {
    return one(p, post("application/json", R"({"messageId":"r1","to":"+306912345678","status":{"name":")" +
                                                std::string(name) + R"(","reason":{"detailedStatus":")" +
                                                std::string(detailed) + R"("},"updatedDate":"2019-07-05T10:28:49Z"}})"));
  };
  EXPECT_EQ(status_of(with("Undelivered", "Carrier Violation")), "rejected");
  EXPECT_EQ(status_of(with("Undelivered", "Call Barred")), "rejected");
  EXPECT_EQ(status_of(with("Undelivered", "Roaming")), "undelivered");
  EXPECT_EQ(status_of(with("Undelivered", "Expired")), "expired");
  EXPECT_EQ(status_of(with("Failed", "Failed")), "rejected");  // Routee could not process it
  EXPECT_EQ(status_of(with("Unsent", "Unsent")), "undelivered");  // insufficient balance
  auto sent = with("Sent", "Sent");
  EXPECT_EQ(status_of(sent), "pending");
  EXPECT_EQ(sent.error_code, std::nullopt);

  auto d = ok(p, post("application/json", R"({"direction":"Inbound","from":"+306912345678","to":"+306900000000",
      "message":"hi","messageId":"in-1","receivedDate":"2019-07-05T10:28:49Z","originatingService":"Sms"})"));
  EXPECT_TRUE(d.reports.empty());
  EXPECT_EQ(d.ignored, std::vector<std::string>{"inbound"});
}

TEST(clickatell_profile, one_api_words_and_legacy_codes_read_the_same_way) {
  const auto& p = builtin("clickatell");
  auto one_api = [&p](std::string_view status, int code, std::int64_t millis) {
    return one(p, post("application/json", R"({"integrationName":"i","event":{"messageStatusUpdate":[{"channel":"sms",)"
                                            R"("messageId":"c1","timestamp":)" + std::to_string(millis) +
                                                R"(,"status":")" + std::string(status) + R"(","statusCode":)" +
                                                std::to_string(code) + "}]}}"));
  };
  auto queued = one_api("QUEUED", 2, 1218007814000);
  EXPECT_EQ(status_of(queued), "pending");
  EXPECT_EQ(queued.error_code, std::nullopt);
  auto legacy_queued = one(p, get("apiMsgId=c1&timestamp=1218007814&status=002"));
  EXPECT_EQ(status_of(legacy_queued), "pending");
  EXPECT_EQ(legacy_queued.event_at, queued.event_at);  // milliseconds and seconds, one instant

  EXPECT_EQ(status_of(one_api("VOLUME_LIMIT_DAILY", 27, 1218007814000)), "undelivered");
  EXPECT_EQ(status_of(one_api("INSUFFICIENT_ACCOUNT_BALANCE", 25, 1218007814000)), "undelivered");
  EXPECT_EQ(status_of(one_api("STOPPED_BY_ADMIN", 22, 1218007814000)), "rejected");
  auto expired = one_api("EXPIRED", 20, 1218007814000);
  EXPECT_EQ(status_of(expired), "expired");
  EXPECT_EQ(expired.error_code, "20");

  auto legacy_expired = one(p, get("apiMsgId=c2&timestamp=1218007814&status=010"));
  EXPECT_EQ(status_of(legacy_expired), "expired");
  EXPECT_EQ(legacy_expired.error_code, "010");
  EXPECT_EQ(status_of(one(p, get("apiMsgId=c3&timestamp=1218007814&status=005"))), "rejected");
  EXPECT_EQ(status_of(one(p, get("apiMsgId=c4&timestamp=1218007814&status=012"))), "undelivered");
}

}  // namespace
}  // namespace dlrd::decode
