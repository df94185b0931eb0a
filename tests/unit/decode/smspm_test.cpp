// SMSPM JSON profile: every accepted field and alias, every rejection, batch atomicity, fixtures.
#include <dlrd/decode/decode.hpp>

#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace dlrd::decode {
namespace {

using report::status;
using namespace std::chrono_literals;

const report::time_point received = *report::parse_timestamp("2024-05-01T12:30:00Z");

std::vector<report::delivery_report> ok(std::string_view body) {
  auto r = decode_smspm_json(body, received);
  if (auto* e = std::get_if<decode_error>(&r)) {
    ADD_FAILURE() << "unexpected error: " << e->reason << " (field '" << e->field << "') for " << body;
    return {};
  }
  return std::get<std::vector<report::delivery_report>>(r);
}

report::delivery_report one(std::string_view body) {
  auto v = ok(body);
  EXPECT_EQ(v.size(), 1u);
  return v.empty() ? report::delivery_report{} : v.front();
}

decode_error err(std::string_view body) {
  auto r = decode_smspm_json(body, received);
  if (!std::holds_alternative<decode_error>(r)) {
    ADD_FAILURE() << "decoded although it should not: " << body;
    return {};
  }
  return std::get<decode_error>(r);
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DLRD_SOURCE_DIR) + "/tests/fixtures/smspm/" + name);
  EXPECT_TRUE(in) << "missing fixture " << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr std::string_view minimal = R"({"messageId":"m1","status":"delivered"})";
constexpr std::string_view all_fields = R"({
  "messageId": "m-42", "status": " Delivered ", "to": "+44 7700-900123",
  "timestamp": "2024-05-01T12:00:00Z", "from": "ACME", "errorCode": "000",
  "parts": 3, "price": 0.045, "extra": {"ignored": [1, 2, 3]}
})";

TEST(smspm_json, minimal_report_takes_received_time_and_provider) {
  auto r = one(minimal);
  EXPECT_EQ(r.message_id, "m1");
  EXPECT_EQ(r.canonical, status::delivered);
  EXPECT_EQ(r.raw_status, "delivered");
  EXPECT_EQ(r.provider, "smspm");
  EXPECT_EQ(r.received_at, received);
  EXPECT_EQ(r.event_at, received);
  EXPECT_FALSE(r.event_time_from_gateway);
  EXPECT_FALSE(r.recipient);
  EXPECT_FALSE(r.sender);
  EXPECT_FALSE(r.error_code);
  EXPECT_FALSE(r.parts);
  EXPECT_FALSE(r.cost);
}

TEST(smspm_json, every_field_is_decoded_and_unknown_fields_are_ignored) {
  auto r = one(all_fields);
  EXPECT_EQ(r.message_id, "m-42");
  EXPECT_EQ(r.canonical, status::delivered);
  EXPECT_EQ(r.raw_status, "Delivered");
  EXPECT_EQ(r.recipient, "+447700900123");
  EXPECT_EQ(r.event_at, *report::parse_timestamp("2024-05-01T12:00:00Z"));
  EXPECT_TRUE(r.event_time_from_gateway);
  EXPECT_EQ(r.received_at, received);
  EXPECT_EQ(r.sender, "ACME");
  EXPECT_EQ(r.error_code, "000");
  EXPECT_EQ(r.parts, 3);
  EXPECT_EQ(r.cost, "0.045");
}

TEST(smspm_json, integer_message_id_becomes_its_decimal_text) {
  EXPECT_EQ(one(R"({"messageId":18446744073709551615,"status":"sent"})").message_id, "18446744073709551615");
  EXPECT_EQ(one(R"({"messageId":0,"status":"sent"})").message_id, "0");
}

TEST(smspm_json, message_id_is_trimmed_and_may_be_exactly_the_limit) {
  EXPECT_EQ(one(R"({"messageId":"  abc  ","status":"sent"})").message_id, "abc");
  std::string id(max_message_id_bytes, 'x');
  EXPECT_EQ(one(R"({"messageId":")" + id + R"(","status":"sent"})").message_id, id);
}

TEST(smspm_json, error_code_alias_and_integer_error_code_are_text) {
  EXPECT_EQ(one(R"({"messageId":"m","status":"failed","error_code":"E12"})").error_code, "E12");
  EXPECT_EQ(one(R"({"messageId":"m","status":"failed","errorCode":34})").error_code, "34");
  EXPECT_EQ(one(R"({"messageId":"m","status":"failed","errorCode":-1})").error_code, "-1");
  // errorCode wins when a gateway sends both spellings.
  EXPECT_EQ(one(R"({"messageId":"m","status":"failed","errorCode":"A","error_code":"B"})").error_code, "A");
}

TEST(smspm_json, cost_alias_and_numeric_strings_are_kept_as_sent) {
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","cost":"0.0450"})").cost, "0.0450");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","price":"12"})").cost, "12");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","price":2})").cost, "2");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","price":1e-3})").cost, "0.001");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","price":1.5e2})").cost, "150");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","price":0.1})").cost, "0.1");
}

TEST(smspm_json, null_and_empty_optional_fields_count_as_absent) {
  auto r = one(R"({"messageId":"m","status":"sent","to":null,"timestamp":null,"from":"",
                   "errorCode":"","parts":null,"price":""})");
  EXPECT_FALSE(r.recipient);
  EXPECT_FALSE(r.event_time_from_gateway);
  EXPECT_EQ(r.event_at, received);
  EXPECT_FALSE(r.sender);
  EXPECT_FALSE(r.error_code);
  EXPECT_FALSE(r.parts);
  EXPECT_FALSE(r.cost);
}

TEST(smspm_json, integer_recipient_is_normalised) {
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","to":447700900123})").recipient, "+447700900123");
}

TEST(smspm_json, timestamps_in_every_supported_form) {
  const auto expected = *report::parse_timestamp("2024-05-01T10:00:00Z");
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":"2024-05-01T12:00:00+02:00"})").event_at, expected);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":"2024-05-01 10:00:00"})").event_at, expected);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":1714557600})").event_at, expected);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":1714557600000})").event_at, expected);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":"1714557600"})").event_at, expected);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","timestamp":1714557600.5})").event_at, expected + 500ms);
  EXPECT_TRUE(one(R"({"messageId":"m","status":"sent","timestamp":1714557600})").event_time_from_gateway);
}

TEST(smspm_json, parts_accepts_the_whole_range) {
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","parts":1})").parts, 1);
  EXPECT_EQ(one(R"({"messageId":"m","status":"sent","parts":255})").parts, 255);
}

struct rejection {
  std::string_view body;
  std::string_view reason;
  std::string_view field;
};

class smspm_rejects : public testing::TestWithParam<rejection> {};

TEST_P(smspm_rejects, with_a_specific_reason_and_field) {
  auto e = err(GetParam().body);
  EXPECT_EQ(e.reason, GetParam().reason) << GetParam().body;
  EXPECT_EQ(e.field, GetParam().field) << GetParam().body;
}

const std::string long_id(max_message_id_bytes + 1, 'x');
const std::string long_id_body = R"({"messageId":")" + long_id + R"(","status":"sent"})";
const std::string long_from_body = R"({"messageId":"m","status":"sent","from":")" + std::string(65, 'f') + R"("})";

INSTANTIATE_TEST_SUITE_P(
    every_rule, smspm_rejects,
    testing::Values(
        rejection{"", "body is not valid JSON", ""},
        rejection{"{\"messageId\":", "body is not valid JSON", ""},
        rejection{"messageId=1&status=delivered", "body is not valid JSON", ""},
        rejection{"{\"messageId\":\"m\",\"status\":\"sent\"} trailing", "body is not valid JSON", ""},
        rejection{"\"delivered\"", "body must be a JSON object or an array of objects", ""},
        rejection{"42", "body must be a JSON object or an array of objects", ""},
        rejection{"null", "body must be a JSON object or an array of objects", ""},
        rejection{"[]", "batch is empty", ""},
        rejection{"[1]", "batch element [0] is not an object", "[0]"},
        rejection{R"({"status":"sent"})", "messageId is missing", "messageId"},
        rejection{R"({"messageId":null,"status":"sent"})", "messageId is null", "messageId"},
        rejection{R"({"messageId":"","status":"sent"})", "messageId is empty", "messageId"},
        rejection{R"({"messageId":"   ","status":"sent"})", "messageId is empty", "messageId"},
        rejection{R"({"messageId":1.5,"status":"sent"})", "messageId must be a string or an integer", "messageId"},
        rejection{R"({"messageId":true,"status":"sent"})", "messageId must be a string or an integer", "messageId"},
        rejection{R"({"messageId":["m"],"status":"sent"})", "messageId must be a string or an integer", "messageId"},
        rejection{R"({"messageId":-5,"status":"sent"})", "messageId must not be a negative number", "messageId"},
        rejection{R"({"messageId":"a\u0000b","status":"sent"})", "messageId contains control characters", "messageId"},
        rejection{R"({"messageId":"a\nb","status":"sent"})", "messageId contains control characters", "messageId"},
        rejection{R"({"messageId":"a\u0085b","status":"sent"})", "messageId contains control characters", "messageId"},
        rejection{long_id_body, "messageId is longer than 128 bytes", "messageId"},
        rejection{R"({"messageId":"m"})", "status is missing", "status"},
        rejection{R"({"messageId":"m","status":null})", "status is null", "status"},
        rejection{R"({"messageId":"m","status":{"s":3}})", "status must be a string or an integer", "status"},
        rejection{R"({"messageId":"m","status":" "})", "status is empty", "status"},
        rejection{R"({"messageId":"m","status":"bad\u0001word"})", "status contains control characters", "status"},
        rejection{R"({"messageId":"m","status":"sent","to":"0770090012"})",
                  "to is not a valid international phone number: '0770090012'", "to"},
        rejection{R"({"messageId":"m","status":"sent","to":"+44 abc"})",
                  "to is not a valid international phone number: '+44 abc'", "to"},
        rejection{R"({"messageId":"m","status":"sent","to":""})", "to is empty", "to"},
        rejection{R"({"messageId":"m","status":"sent","to":-447700900123})", "to must not be a negative number", "to"},
        rejection{R"({"messageId":"m","status":"sent","to":{"n":1}})", "to must be a string or an integer", "to"},
        rejection{R"({"messageId":"m","status":"sent","timestamp":"2024-02-30T10:00:00Z"})",
                  "timestamp '2024-02-30T10:00:00Z' matches none of the formats iso8601, epoch",
                  "timestamp"},
        rejection{R"({"messageId":"m","status":"sent","timestamp":"yesterday"})",
                  "timestamp 'yesterday' matches none of the formats iso8601, epoch", "timestamp"},
        rejection{R"({"messageId":"m","status":"sent","timestamp":-1})",
                  "timestamp is not a plausible epoch time in seconds or milliseconds", "timestamp"},
        rejection{R"({"messageId":"m","status":"sent","timestamp":1e300})",
                  "timestamp is not a plausible epoch time in seconds or milliseconds", "timestamp"},
        rejection{R"({"messageId":"m","status":"sent","timestamp":true})", "timestamp must be a string or a number",
                  "timestamp"},
        rejection{R"({"messageId":"m","status":"sent","from":["A"]})", "from must be a string or an integer", "from"},
        rejection{long_from_body, "from is longer than 64 bytes", "from"},
        rejection{R"({"messageId":"m","status":"sent","errorCode":1.5})", "errorCode must be a string or an integer",
                  "errorCode"},
        rejection{R"({"messageId":"m","status":"sent","error_code":{}})", "error_code must be a string or an integer",
                  "error_code"},
        rejection{R"({"messageId":"m","status":"sent","parts":0})", "parts must be between 1 and 255", "parts"},
        rejection{R"({"messageId":"m","status":"sent","parts":256})", "parts must be between 1 and 255", "parts"},
        rejection{R"({"messageId":"m","status":"sent","parts":-3})", "parts must be between 1 and 255", "parts"},
        rejection{R"({"messageId":"m","status":"sent","parts":18446744073709551615})",
                  "parts must be between 1 and 255", "parts"},
        rejection{R"({"messageId":"m","status":"sent","parts":"two"})", "parts must be an integer", "parts"},
        rejection{R"({"messageId":"m","status":"sent","parts":2.5})", "parts must be an integer", "parts"},
        rejection{R"({"messageId":"m","status":"sent","price":"free"})", "price must be a decimal number, got 'free'",
                  "price"},
        rejection{R"({"messageId":"m","status":"sent","cost":"1e3"})", "cost must be a decimal number, got '1e3'",
                  "cost"},
        rejection{R"({"messageId":"m","status":"sent","price":true})", "price must be a number or a numeric string",
                  "price"},
        rejection{R"({"messageId":"m","status":"sent","price":1e300})", "price is out of range", "price"},
        rejection{R"({"messageId":"m","status":"sent","price":1e-300})", "price has too many decimal places",
                  "price"}));

TEST(smspm_json, an_unknown_status_word_is_kept_raw_and_read_as_pending) {
  auto v = ok(R"({"messageId":"m","status":"Teleported"})");
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].canonical, status::pending);
  EXPECT_EQ(v[0].raw_status, "Teleported");
}

TEST(smspm_json, an_overlong_status_word_is_an_error_naming_the_limit) {
  std::string word(500, 'z');
  auto e = err(R"({"messageId":"m","status":")" + word + R"("})");
  EXPECT_EQ(e.field, "status");
  EXPECT_EQ(e.reason, "status is longer than 64 bytes");
}

constexpr std::string_view batch_of_three = R"([
  {"messageId":"a","status":"delivered"},
  {"messageId":"b","status":"failed","errorCode":"x"},
  {"messageId":"c","status":"pending"}
])";
constexpr std::string_view batch_with_bad_third = R"([
  {"messageId":"a","status":"delivered"},
  {"messageId":"b","status":"failed"},
  {"messageId":"c","status":"delivered","parts":0}
])";

TEST(smspm_json, batch_keeps_order_and_each_element_gets_received_time) {
  auto v = ok(batch_of_three);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].message_id, "a");
  EXPECT_EQ(v[1].canonical, status::undelivered);
  EXPECT_EQ(v[1].error_code, "x");
  EXPECT_EQ(v[2].canonical, status::pending);
  for (const auto& r : v) {
    EXPECT_EQ(r.received_at, received);
    EXPECT_EQ(r.provider, "smspm");
  }
}

TEST(smspm_json, batch_with_one_bad_element_is_rejected_whole_and_names_it) {
  auto e = err(batch_with_bad_third);
  EXPECT_EQ(e.reason, "parts must be between 1 and 255");
  EXPECT_EQ(e.field, "[2].parts");
  EXPECT_EQ(err(R"([{"messageId":"a","status":"sent"},{"status":"sent"}])").field, "[1].messageId");
  EXPECT_EQ(err(R"([{"messageId":"a","status":"sent"},"b"])").field, "[1]");
}

TEST(smspm_json, batch_of_a_thousand_is_accepted_and_one_more_is_not) {
  std::string body = "[";
  for (int i = 0; i < 1000; ++i) body += (i ? "," : "") + std::string(R"({"messageId":"m)") + std::to_string(i) + R"(","status":"sent"})";
  EXPECT_EQ(ok(body + "]").size(), 1000u);
  auto e = err(body + R"(,{"messageId":"x","status":"sent"}])");
  EXPECT_EQ(e.reason, "batch has 1001 reports; at most 1000 are allowed");
  EXPECT_EQ(e.field, "");
}

TEST(smspm_json, deeply_nested_garbage_is_an_error_not_a_crash) {
  EXPECT_EQ(err(std::string(100000, '[')).reason, "body is not valid JSON");
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_EQ(err(deep).reason, "batch element [0] is not an object");
}

TEST(smspm_json, invalid_utf8_is_not_valid_json) {
  EXPECT_EQ(err("{\"messageId\":\"\xff\xfe\",\"status\":\"sent\"}").reason, "body is not valid JSON");
}

TEST(smspm_fixtures, delivered_with_timestamp) {
  auto r = one(fixture("delivered_with_timestamp.json"));
  EXPECT_EQ(r.message_id, "7f3c2a9e-5b1d-4c8e-9a77-1e2f3d4c5b6a");
  EXPECT_EQ(r.canonical, status::delivered);
  EXPECT_EQ(r.raw_status, "DELIVERED");
  EXPECT_EQ(r.recipient, "+447700900123");
  EXPECT_EQ(r.sender, "ACME");
  EXPECT_EQ(report::format_timestamp(r.event_at), "2024-05-01T10:00:03.250000Z");
  EXPECT_TRUE(r.event_time_from_gateway);
  EXPECT_EQ(r.parts, 1);
  EXPECT_EQ(r.cost, "0.045");
}

TEST(smspm_fixtures, undelivered_with_error_code) {
  auto r = one(fixture("undelivered_with_error_code.json"));
  EXPECT_EQ(r.canonical, status::undelivered);
  EXPECT_EQ(r.error_code, "EC_ABSENT_SUBSCRIBER");
  EXPECT_EQ(r.recipient, "+4915123456789");
  EXPECT_EQ(report::format_timestamp(r.event_at), "2024-05-01T10:15:00.000000Z");
  EXPECT_EQ(r.parts, 2);
  EXPECT_EQ(r.cost, "0.0900");
}

TEST(smspm_fixtures, pending_enroute_keeps_the_raw_word) {
  auto r = one(fixture("pending_enroute.json"));
  EXPECT_EQ(r.canonical, status::pending);
  EXPECT_EQ(r.raw_status, "ENROUTE");
  EXPECT_EQ(r.recipient, "+14155550123");
}

TEST(smspm_fixtures, epoch_milliseconds_timestamp) {
  auto r = one(fixture("epoch_ms_timestamp.json"));
  EXPECT_EQ(r.canonical, status::delivered);
  EXPECT_EQ(report::format_timestamp(r.event_at), "2024-05-01T10:00:00.123000Z");
  EXPECT_EQ(r.error_code, "0");
}

TEST(smspm_fixtures, numeric_message_id_and_recipient) {
  auto r = one(fixture("numeric_message_id.json"));
  EXPECT_EQ(r.message_id, "1234567890123");
  EXPECT_EQ(r.recipient, "+447700900124");
  EXPECT_EQ(r.event_at, received);
}

TEST(smspm_fixtures, batch_array) {
  auto v = ok(fixture("batch.json"));
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].canonical, status::pending);
  EXPECT_EQ(v[1].canonical, status::delivered);
  EXPECT_EQ(v[2].canonical, status::expired);
  EXPECT_EQ(v[2].error_code, "27");
  EXPECT_EQ(v[3].canonical, status::rejected);
  EXPECT_EQ(v[3].error_code, "blocked number");
  EXPECT_EQ(report::format_timestamp(v[1].event_at), "2024-05-01T10:00:05.000000Z");
}

TEST(smspm_fixtures, invalid_payloads_name_their_fault) {
  EXPECT_EQ(ok(fixture("unknown_status.json")).at(0).raw_status, "teleported");
  EXPECT_EQ(err(fixture("invalid_missing_message_id.json")), (decode_error{"messageId is missing", "messageId"}));
  EXPECT_EQ(err(fixture("invalid_batch_element.json")).field, "[1].timestamp");
  EXPECT_EQ(err(fixture("invalid_form_encoded.json")), (decode_error{"body is not valid JSON", ""}));
}

}  // namespace
}  // namespace dlrd::decode
