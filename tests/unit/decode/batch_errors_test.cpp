// batch_errors: element: one batch element that does not decode is set aside with a request
// holding it alone (what a replay decodes), the others are read; `whole` refuses the request.
#include <dlrd/decode/profile.hpp>

#include "decode_helpers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dlrd::decode {
namespace {

using namespace test_helpers;

constexpr std::string_view infobip_batch = R"({"results":[
    {"messageId":"ok-1","to":"41793026727","status":{"groupName":"DELIVERED"}},
    {"to":"41793026728","status":{"groupName":"MADE_UP"}},
    {"messageId":"ok-3","to":"41793026729","status":{"groupName":"UNDELIVERABLE"}}]})";

TEST(batch_errors, an_infobip_element_that_does_not_decode_is_set_aside_and_the_others_read) {
  auto d = ok(builtin("infobip"), post("application/json", infobip_batch));
  ASSERT_EQ(d.reports.size(), 2u);
  EXPECT_EQ(d.reports[0].message_id, "ok-1");
  EXPECT_EQ(d.reports[1].message_id, "ok-3");
  ASSERT_EQ(d.rejected.size(), 1u);
  EXPECT_EQ(d.rejected[0].reason, "messageId is missing");
  EXPECT_EQ(d.rejected[0].field, "results[1].messageId");
  EXPECT_EQ(d.rejected[0].body, R"({"results":[{"status":{"groupName":"MADE_UP"},"to":"41793026728"}]})");
  EXPECT_EQ(d.rejected[0].provider, "infobip");
  EXPECT_EQ(d.rejected[0].content_type, "application/json");
  EXPECT_EQ(d.rejected[0].received_at, received);
  // The set-aside element's unknown status word is not counted: it was not stored.
  EXPECT_TRUE(d.unknown_words.empty());
  // Its request alone is what a replay after a profile fix decodes, with the same error today.
  auto again = ok(builtin("infobip"), post("application/json", d.rejected[0].body));
  ASSERT_EQ(again.rejected.size(), 1u);
  EXPECT_EQ(again.rejected[0].field, "results[0].messageId");
}

TEST(batch_errors, whole_refuses_the_request_as_before) {
  auto e = err(from_yaml("batch_errors: whole\n", "infobip"), post("application/json", infobip_batch));
  EXPECT_EQ(e.error.reason, "messageId is missing");
  EXPECT_EQ(e.error.field, "results[1].messageId");
  // SMSPM's JSON array is one atomic batch.
  auto smspm =
      err(builtin("smspm"), post("application/json", R"([{"messageId":"a","status":"DELIVRD"},{"status":"x"}])"));
  EXPECT_EQ(smspm.error.field, "[1].messageId");
}

TEST(batch_errors, a_batch_of_only_bad_elements_sets_each_aside) {
  auto d = ok(builtin("infobip"), post("application/json", R"({"results":[{"to":"1"},true]})"));
  EXPECT_TRUE(d.reports.empty());
  ASSERT_EQ(d.rejected.size(), 2u);
  EXPECT_EQ(d.rejected[1].reason, "results[1] is not an object");
  EXPECT_EQ(d.rejected[1].body, R"({"results":[true]})");
}

TEST(batch_errors, a_nested_or_dotted_batch_keeps_the_enclosing_fields_of_the_element) {
  // Sinch's batch report: the status and batch_id belong to the enclosing objects.
  auto sinch = from_yaml("batch_errors: element\n", "sinch");
  auto d = ok(sinch, post("application/json", R"({"type":"delivery_report_sms","batch_id":"B1","statuses":[
      {"code":0,"status":"Delivered","count":2,"recipients":["46701234567","not-a-number"]},
      {"code":402,"status":"Failed","count":1,"recipients":["46701234568"]}]})"));
  ASSERT_EQ(d.reports.size(), 2u);
  ASSERT_EQ(d.rejected.size(), 1u);
  EXPECT_EQ(d.rejected[0].field, "statuses[0].recipients[1].@");
  EXPECT_EQ(d.rejected[0].body, R"({"batch_id":"B1","statuses":[{"code":0,"count":2,"recipients":["not-a-number"],)"
                                R"("status":"Delivered"}],"type":"delivery_report_sms"})");
  // Clickatell's list sits at a dotted path.
  auto click = from_yaml("batch_errors: element\n", "clickatell");
  auto c = ok(click, post("application/json", R"({"integrationName":"i","event":{"other":1,"messageStatusUpdate":[
      {"messageId":"c1","status":"DELIVERED_TO_GATEWAY","timestamp":1218007814000},{"status":"QUEUED"}]}})"));
  EXPECT_EQ(c.reports.size(), 1u);
  ASSERT_EQ(c.rejected.size(), 1u);
  EXPECT_EQ(c.rejected[0].body,
            R"({"event":{"messageStatusUpdate":[{"status":"QUEUED"}],"other":1},"integrationName":"i"})");
}

}  // namespace
}  // namespace dlrd::decode
