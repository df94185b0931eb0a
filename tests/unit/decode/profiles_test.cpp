// Built-in provider profiles against their gateways' documented callbacks, the engine's
// special readings (Kannel type bits, SMPP receipts, batches, aliases), operator profiles
// from YAML, and the errors bad payloads get.
#include <dlrd/decode/profile.hpp>

#include <dlrd/config/yaml.hpp>
#include <dlrd/report/time.hpp>

#include "decode_helpers.hpp"
#include "support/provider_fixtures.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace dlrd::decode {
namespace {

using namespace test_helpers;

callback_input input_of(const test::http_fixture& f, const std::string& media, const std::string& query) {
  callback_input in;
  in.get = f.method == "GET";
  in.media_type = media;
  in.query = query;
  in.body = f.body;
  return in;
}

void expect_report(const report::delivery_report& r, const test::expected_report& e, const std::string& where) {
  SCOPED_TRACE(where + " " + e.message_id);
  EXPECT_EQ(r.message_id, e.message_id);
  EXPECT_EQ(report::to_string(r.canonical), e.status);
  EXPECT_EQ(r.raw_status, e.raw_status);
  EXPECT_EQ(r.recipient, e.recipient);
  EXPECT_EQ(r.sender, e.sender);
  EXPECT_EQ(r.error_code, e.error_code);
  EXPECT_EQ(r.cost, e.cost);
  EXPECT_EQ(r.parts, e.parts ? std::optional<std::int32_t>(*e.parts) : std::nullopt);
  EXPECT_EQ(r.carrier_time, e.carrier_time);
  if (e.event_at) {
    EXPECT_EQ(report::format_timestamp(r.event_at), report::format_timestamp(*report::parse_timestamp(*e.event_at)));
    EXPECT_TRUE(r.event_time_from_gateway);
  } else {
    EXPECT_EQ(r.event_at, received);
    EXPECT_FALSE(r.event_time_from_gateway);
  }
  EXPECT_EQ(r.received_at, received);
}

// --- Every documented callback of every built-in profile ------------------------------------

TEST(provider_fixtures, every_built_in_profile_has_fixtures_and_every_fixture_an_expectation) {
  std::set<std::string> profiles_with_cases, files_with_cases;
  for (const auto& c : test::fixture_cases()) {
    profiles_with_cases.insert(c.profile);
    files_with_cases.insert(c.file);
  }
  for (const auto& p : builtin_profiles()) {
    EXPECT_TRUE(profiles_with_cases.contains(p.name)) << "no fixture for built-in profile " << p.name;
  }
  for (const auto& provider : test::fixture_providers()) {
    for (const auto& file : test::http_fixture_files(provider)) {
      EXPECT_TRUE(files_with_cases.contains(file)) << file << " has no expected reports";
    }
  }
}

TEST(provider_fixtures, each_documented_callback_decodes_to_the_reports_its_gateway_means) {
  for (const auto& c : test::fixture_cases()) {
    SCOPED_TRACE(c.file);
    auto f = test::load_http_fixture(c.file);
    auto media = f.media_type();
    auto query = f.query();
    auto d = ok(builtin(c.profile), input_of(f, media, query));
    EXPECT_TRUE(d.unknown_words.empty());
    EXPECT_EQ(d.ignored, c.ignored);
    ASSERT_EQ(d.reports.size(), c.reports.size());
    for (std::size_t i = 0; i < c.reports.size(); ++i) {
      expect_report(d.reports[i], c.reports[i], c.file);
      EXPECT_EQ(d.reports[i].provider, c.profile);
    }
  }
}

// --- Gateways' meaning: event filters, error codes, plain receipts --------------------------

TEST(event_filters, an_ignore_rule_drops_an_event_by_field_value_with_its_reason) {
  auto p = from_yaml(R"(
fields: { message_id: [id], status: [status] }
events:
  ignore: [ { field: direction, values: [INBOUND, "mo-*"], reason: inbound } ]
)");
  auto d = ok(p, post("application/json", R"({"id":"m1","status":"delivered","direction":"inbound"})"));
  EXPECT_TRUE(d.reports.empty());
  EXPECT_EQ(d.ignored, std::vector<std::string>{"inbound"});
  EXPECT_EQ(ok(p, post("application/json", R"({"id":"m1","status":"delivered","direction":"MO-reply"})")).ignored,
            std::vector<std::string>{"inbound"});
  EXPECT_EQ(one(p, post("application/json", R"({"id":"m1","status":"delivered","direction":"outbound"})")).message_id,
            "m1");
}

TEST(event_filters, an_accept_rule_ignores_other_present_values_and_reads_the_rest_of_a_batch) {
  auto p = from_yaml(R"(
fields: { message_id: [message.id], status: [type] }
statuses: { message-delivered: delivered, message-failed: undelivered }
events:
  accept: [ { field: type, values: [message-delivered, message-failed, message-sending] } ]
)");
  auto d = ok(p, post("application/json", R"([{"type":"message-received","message":{"id":"in1"}},
      {"type":"message-delivered","message":{"id":"out1"}}])"));
  ASSERT_EQ(d.reports.size(), 1u);
  EXPECT_EQ(d.reports[0].message_id, "out1");
  EXPECT_EQ(d.ignored, std::vector<std::string>{"not_accepted"});
}

TEST(event_filters, an_event_rule_without_values_is_a_configuration_error) {
  EXPECT_THROW(from_yaml("fields: { message_id: [id], status: [status] }\nevents: { ignore: [ { field: x } ] }\n"),
               std::exception);
}

TEST(telnyx_profile, an_inbound_message_is_ignored_whatever_its_to_status_says) {
  auto f = test::load_http_fixture("telnyx/received_inbound.http");
  auto d = ok(builtin("telnyx"), input_of(f, f.media_type(), f.query()));
  EXPECT_TRUE(d.reports.empty());
  EXPECT_EQ(d.ignored, std::vector<std::string>{"inbound"});
}

TEST(bandwidth_profile, the_error_codes_first_digit_decides_and_unknown_event_types_are_not_accepted) {
  const auto& p = builtin("bandwidth");
  auto failed = [&p](std::string_view code) {
    return one(p, post("application/json", R"([{"type":"message-failed","time":"2024-05-01T12:00:00Z","errorCode":)" +
                                               std::string(code) + R"(,"to":"+12345678902","message":{"id":"b1"}}])"))
        .canonical;
  };
  EXPECT_EQ(failed("4720"), report::status::rejected);
  EXPECT_EQ(failed("5620"), report::status::undelivered);
  EXPECT_EQ(failed("9902"), report::status::undelivered);
  auto d = ok(p, post("application/json", R"([{"type":"message-queued","to":"+12345678902","message":{"id":"b2"}}])"));
  EXPECT_TRUE(d.reports.empty());
  EXPECT_EQ(d.ignored, std::vector<std::string>{"not_accepted"});
}

TEST(sinch_profile, a_summary_report_without_recipients_is_ignored_not_invalid) {
  auto d = ok(builtin("sinch"), post("application/json",
                                     R"({"batch_id":"B9","statuses":[{"code":0,"count":3,"status":"Delivered"}],"type":"delivery_report_sms"})"));
  EXPECT_TRUE(d.reports.empty());
  EXPECT_EQ(d.ignored, std::vector<std::string>{"summary"});
}

TEST(error_statuses, an_exact_code_wins_over_a_prefix_and_only_failures_change) {
  auto p = from_yaml(R"(
fields: { message_id: [id], status: [status], error_code: [err] }
error_statuses: { "E1*": rejected, "E12": undelivered }
)");
  EXPECT_EQ(one(p, post("application/json", R"({"id":"a","status":"undelivered","err":"E19"})")).canonical,
            report::status::rejected);
  EXPECT_EQ(one(p, post("application/json", R"({"id":"a","status":"rejected","err":"e12"})")).canonical,
            report::status::undelivered);
  EXPECT_EQ(one(p, post("application/json", R"({"id":"a","status":"delivered","err":"E19"})")).canonical,
            report::status::delivered);
  EXPECT_EQ(one(p, post("application/json", R"({"id":"a","status":"sent","err":"E19"})")).canonical,
            report::status::pending);
}

TEST(twilio_profile, the_error_code_decides_whether_a_failure_is_retried) {
  const auto& p = builtin("twilio");
  auto spam = one(p, post("application/x-www-form-urlencoded", "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=30007"));
  EXPECT_EQ(spam.canonical, report::status::rejected);
  auto queue = one(p, post("application/x-www-form-urlencoded", "MessageSid=SM2&MessageStatus=failed&ErrorCode=30001"));
  EXPECT_EQ(queue.canonical, report::status::undelivered);
  auto other = one(p, post("application/x-www-form-urlencoded", "MessageSid=SM3&MessageStatus=undelivered&ErrorCode=30003"));
  EXPECT_EQ(other.canonical, report::status::undelivered);
}

TEST(jasmin_profile, transient_esme_errors_are_undelivered_and_permanent_ones_rejected_both_stored_as_the_error) {
  const auto& p = builtin("jasmin");
  for (std::string code : {"ESME_RTHROTTLED", "ESME_RMSGQFUL", "ESME_RSYSERR", "ESME_RX_T_APPN"}) {
    auto r = one(p, get("id=j1&level=1&message_status=" + code));
    EXPECT_EQ(r.canonical, report::status::undelivered) << code;
    EXPECT_EQ(r.error_code, code);
  }
  auto r = one(p, get("id=j2&level=1&message_status=ESME_RINVDSTADR"));
  EXPECT_EQ(r.canonical, report::status::rejected);
  EXPECT_EQ(r.error_code, "ESME_RINVDSTADR");
  auto ok_answer = one(p, get("id=j3&level=1&message_status=ESME_ROK"));
  EXPECT_EQ(ok_answer.canonical, report::status::pending);
  EXPECT_FALSE(ok_answer.error_code);
}

TEST(infobip_profile, error_permanent_decides_between_rejected_and_undelivered) {
  const auto& p = builtin("infobip");
  auto body = [](std::string_view group, std::string_view permanent) {
    return R"({"results":[{"messageId":"i1","to":"41793026727","status":{"groupName":")" + std::string(group) +
           R"("},"error":{"id":27,"permanent":)" + std::string(permanent) + "}}]}";
  };
  EXPECT_EQ(one(p, post("application/json", body("UNDELIVERABLE", "true"))).canonical, report::status::rejected);
  EXPECT_EQ(one(p, post("application/json", body("REJECTED", "false"))).canonical, report::status::undelivered);
  EXPECT_EQ(one(p, post("application/json", body("EXPIRED", "false"))).canonical, report::status::expired);
  EXPECT_EQ(one(p, post("application/json", body("DELIVERED", "true"))).canonical, report::status::delivered);
  // Not a boolean: the element is set aside for quarantine (batch_errors: element).
  auto e = ok(p, post("application/json", body("REJECTED", "\"maybe\"")));
  ASSERT_EQ(e.rejected.size(), 1u);
  EXPECT_EQ(e.rejected[0].field, "results[0].error.permanent");
}

TEST(text_encoding, a_plain_text_body_is_the_receipt_and_the_query_adds_the_addresses) {
  const auto& p = builtin("smpp");
  auto r = one(p, post("text/plain",
                       "id:0911897983 sub:001 dlvrd:001 submit date:1201121551 done date:1201121552 stat:DELIVRD "
                       "err:000 text:hello",
                       "source_addr=447700900125&destination_addr=ACME"));
  EXPECT_EQ(r.message_id, "0911897983");
  EXPECT_EQ(r.canonical, report::status::delivered);
  EXPECT_EQ(r.recipient, "+447700900125");
  EXPECT_EQ(r.sender, "ACME");
  auto e = err(p, post("text/plain", "hello there"));
  EXPECT_FALSE(e.unsupported);
  EXPECT_TRUE(err(builtin("smspm"), post("text/plain", "id:1 stat:DELIVRD")).unsupported);
}

// Found by fuzz_profiles: a value ended only at a space, so a receipt in a JSON field with
// "err:0d<TAB>" stored a tab in error_code (a field every decoder promises is printable).
// Whitespace and control characters end a value.
TEST(text_encoding, a_receipt_value_ends_at_any_whitespace_or_control_character) {
  const auto& p = builtin("smpp");
  auto r = one(p, post("application/json", R"({"short_message":"id:0911897983\tstat:UNDELIV\r\nerr:0d\u0001x text:hi"})"));
  EXPECT_EQ(r.message_id, "0911897983");
  EXPECT_EQ(r.canonical, report::status::undelivered);
  EXPECT_EQ(r.error_code, "0d");
}

TEST(text_encoding, any_yaml_profile_may_take_plain_receipts) {
  auto p = from_yaml("encodings: [text]\nfields: { message_id: [msgid] }\n");
  auto r = one(p, post("text/plain", "id:ab12 sub:001 dlvrd:000 submit date:2305011200 done date:2305011201 stat:REJECTD err:069"));
  EXPECT_EQ(r.message_id, "ab12");
  EXPECT_EQ(r.canonical, report::status::rejected);
  EXPECT_EQ(r.error_code, "069");
  EXPECT_EQ(reading_of(p, post("text/plain", "id:1")).body, reading::body_as::text);
}

TEST(event_time, a_zone_less_carrier_time_is_read_only_when_the_profile_names_its_zone) {
  constexpr std::string_view receipt = "messageId=v9&status=delivered&msisdn=447700900000&scts=2001011400"
                                       "&message-timestamp=2020-01-01+13%3A00%3A07";
  auto utc = one(builtin("vonage"), get(receipt));
  EXPECT_EQ(utc.event_at, *report::parse_timestamp("2020-01-01T13:00:07Z"));
  auto named = from_yaml("timezone: \"+01:00\"\n", "vonage");
  auto local = one(named, get(receipt));
  EXPECT_EQ(local.event_at, *report::parse_timestamp("2020-01-01T13:00:00Z"));
  // Only the carrier's time: without a named zone it is no instant, so the time received.
  auto bare = one(builtin("twilio"), post("application/x-www-form-urlencoded",
                                          "MessageSid=SM9&MessageStatus=delivered&RawDlrDoneDate=2302141213"));
  EXPECT_EQ(bare.event_at, received);
  EXPECT_FALSE(bare.event_time_from_gateway);
  // Used or not, the carrier's own text is kept for history.
  EXPECT_EQ(bare.carrier_time, "2302141213");
  EXPECT_EQ(utc.carrier_time, "2001011400");
  EXPECT_EQ(local.carrier_time, "2001011400");
  auto twilio_named = from_yaml("timezone: \"-05:00\"\n", "twilio");
  auto dated = one(twilio_named, post("application/x-www-form-urlencoded",
                                      "MessageSid=SM9&MessageStatus=delivered&RawDlrDoneDate=2302141213"));
  EXPECT_EQ(dated.event_at, *report::parse_timestamp("2023-02-14T17:13:00Z"));
}

TEST(event_time, an_iana_zone_converts_local_times_with_daylight_saving) {
  auto p = from_yaml(R"(
fields: { message_id: [id], status: [status], timestamp: [at] }
timestamp_formats: ["%Y-%m-%d %H:%M:%S", iso8601]
timezone: Europe/Berlin
)");
  auto at = [&p](std::string_view local) {
    return one(p, post("application/json", R"({"id":"z","status":"delivered","at":")" + std::string(local) + "\"}")).event_at;
  };
  EXPECT_EQ(at("2024-07-01 12:00:00"), *report::parse_timestamp("2024-07-01T10:00:00Z"));  // CEST, +02:00
  EXPECT_EQ(at("2024-01-15 12:00:00"), *report::parse_timestamp("2024-01-15T11:00:00Z"));  // CET, +01:00
  EXPECT_EQ(at("2024-07-01T12:00:00"), *report::parse_timestamp("2024-07-01T10:00:00Z"));
  EXPECT_EQ(at("2024-07-01T12:00:00Z"), *report::parse_timestamp("2024-07-01T12:00:00Z"));  // its own zone wins
  // 02:30 on 31 March 2024 never happened; 02:30 on 27 October happened twice.
  EXPECT_EQ(at("2024-03-31 02:30:00"), *report::parse_timestamp("2024-03-31T01:30:00Z"));
  EXPECT_EQ(at("2024-10-27 02:30:00"), *report::parse_timestamp("2024-10-27T01:30:00Z"));
  auto ny = from_yaml("timezone: America/New_York\n", "twilio");
  auto r = one(ny, post("application/x-www-form-urlencoded",
                        "MessageSid=SM9&MessageStatus=delivered&RawDlrDoneDate=2307141213"));
  EXPECT_EQ(r.event_at, *report::parse_timestamp("2023-07-14T16:13:00Z"));  // EDT, -04:00
}

TEST(event_time, a_zone_that_is_no_iana_zone_is_a_configuration_error_naming_it) {
  for (std::string zone : {"Mars/Olympus_Mons", "../../etc/passwd", "+2"}) {
    try {
      from_yaml("timezone: \"" + zone + "\"\n", "vonage");
      ADD_FAILURE() << zone << " was accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("IANA zone like Europe/Berlin"), std::string::npos) << e.what();
    }
  }
}

TEST(event_time, sinch_reads_when_the_operator_reported_the_status_before_when_sinch_wrote_it) {
  auto r = one(builtin("sinch"), post("application/json", R"({"type":"recipient_delivery_report_sms","batch_id":"B1",
      "recipient":"447700900001","status":"Delivered","code":0,"at":"2022-08-30T08:16:08.930Z",
      "operator_status_at":"2022-08-30T08:16:00Z"})"));
  EXPECT_EQ(r.event_at, *report::parse_timestamp("2022-08-30T08:16:00Z"));
}

// --- Aliases and encodings -----------------------------------------------------------------

TEST(smspm_profile, every_alias_reads_the_same_report) {
  const auto& p = builtin("smspm");
  auto canonical = one(p, post("application/json",
                               R"({"messageId":"a1","status":"delivered","to":"+447700900123","timestamp":"2024-05-01T12:00:00Z"})"));
  auto aliased = one(p, post("application/json",
                             R"({"id":"a1","status":"delivered","toNumber":"+447700900123","deliveredAt":"2024-05-01T12:00:00Z"})"));
  EXPECT_EQ(aliased, canonical);
  EXPECT_EQ(aliased.recipient, "+447700900123");
  EXPECT_TRUE(aliased.event_time_from_gateway);
}

TEST(smspm_profile, the_first_alias_wins_when_both_are_sent) {
  auto r = one(builtin("smspm"),
               post("application/json", R"({"id":"second","messageId":"first","status":"sent","toNumber":"+447700900999","to":"+447700900123"})"));
  EXPECT_EQ(r.message_id, "first");
  EXPECT_EQ(r.recipient, "+447700900123");
}

TEST(smspm_profile, a_form_plus_read_as_a_space_still_normalises_the_recipient) {
  const auto& p = builtin("smspm");
  auto form = one(p, post("application/x-www-form-urlencoded", "id=f1&status=delivered&toNumber=+44+7700+900123"));
  EXPECT_EQ(form.recipient, "+447700900123");
  auto query = one(p, get("id=f1&status=delivered&toNumber=+447700900123"));
  EXPECT_EQ(query.recipient, "+447700900123");
}

TEST(vonage_profile, msisdn_is_the_recipient_and_to_is_the_sender) {
  auto r = one(builtin("vonage"), get("messageId=v1&status=delivered&msisdn=447700900000&to=447700900999"));
  EXPECT_EQ(r.recipient, "+447700900000");
  EXPECT_EQ(r.sender, "447700900999");
}

TEST(vonage_profile, err_code_zero_is_no_error_and_a_real_one_is_kept) {
  const auto& p = builtin("vonage");
  EXPECT_FALSE(one(p, get("messageId=v2&status=delivered&msisdn=447700900000&err-code=0")).error_code);
  EXPECT_EQ(one(p, get("messageId=v3&status=failed&msisdn=447700900000&err-code=2")).error_code, "2");
}

// --- Batches ------------------------------------------------------------------------------

TEST(sinch_profile, a_batch_report_names_each_recipient_with_its_batch_and_status_group) {
  auto d = ok(builtin("sinch"), post("application/json", R"({"type":"delivery_report_sms","batch_id":"B1","statuses":[
      {"code":0,"status":"Delivered","recipients":["447700900001","447700900002"]},
      {"code":406,"status":"Expired","recipients":["447700900003"]}]})"));
  ASSERT_EQ(d.reports.size(), 3u);
  EXPECT_EQ(d.reports[0].message_id, "B1:+447700900001");
  EXPECT_EQ(d.reports[1].message_id, "B1:+447700900002");
  EXPECT_EQ(d.reports[2].message_id, "B1:+447700900003");
  EXPECT_EQ(d.reports[2].canonical, report::status::expired);
  EXPECT_EQ(d.reports[2].error_code, "406");
  EXPECT_FALSE(d.reports[0].error_code);
}

TEST(sinch_profile, a_per_recipient_report_without_a_recipient_is_refused) {
  auto e = err(builtin("sinch"), post("application/json", R"({"batch_id":"B1","status":"Delivered","code":0})"));
  EXPECT_EQ(e.error.reason, "recipient is missing");
  EXPECT_EQ(e.error.field, "recipient");
  EXPECT_FALSE(e.unsupported);
}

TEST(infobip_profile, results_that_are_not_a_list_or_are_empty_are_refused) {
  const auto& p = builtin("infobip");
  auto not_list = err(p, post("application/json", R"({"results":{"messageId":"x"}})"));
  EXPECT_EQ(not_list.error.reason, "results must be an array");
  auto empty = err(p, post("application/json", R"({"results":[]})"));
  EXPECT_EQ(empty.error.reason, "batch is empty");
}

// --- Kannel's type bits and the SMSC receipt ------------------------------------------------

TEST(kannel_profile, each_type_bit_has_its_meaning) {
  const auto& p = builtin("kannel");
  struct row {
    const char* type;
    report::status st;
  };
  const row rows[] = {
      {"1", report::status::delivered},   {"2", report::status::undelivered}, {"4", report::status::pending},
      {"8", report::status::pending},     {"16", report::status::rejected},   {"34", report::status::expired},
      {"32", report::status::pending},  // Kannel 1.4's intermediate notice, not a final state
      {"66", report::status::undelivered}, {"9", report::status::delivered},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.type);
    auto d = ok(p, get(std::string("id=k1&to=%2B4915112345678&type=") + r.type));
    ASSERT_EQ(d.reports.size(), 1u);
    EXPECT_EQ(d.reports[0].canonical, r.st);
    EXPECT_EQ(d.reports[0].raw_status, std::string("type:") + r.type);
    EXPECT_TRUE(d.unknown_words.empty());
  }
}

TEST(kannel_profile, the_receipt_stat_refines_a_failure_and_nothing_else) {
  const auto& p = builtin("kannel");
  auto with = [&](std::string_view type, std::string_view stat) {
    return one(p, get("id=k2&type=" + std::string(type) + "&receipt=id%3A9+sub%3A001+dlvrd%3A000+stat%3A" +
                      std::string(stat) + "+err%3A000"));
  };
  EXPECT_EQ(with("2", "EXPIRED").canonical, report::status::expired);
  EXPECT_EQ(with("2", "REJECTD").canonical, report::status::rejected);
  EXPECT_EQ(with("2", "UNDELIV").canonical, report::status::undelivered);
  // A receipt that contradicts the type does not turn a failure into a success or back.
  EXPECT_EQ(with("2", "DELIVRD").canonical, report::status::undelivered);
  EXPECT_EQ(with("1", "UNDELIV").canonical, report::status::delivered);
  EXPECT_EQ(with("2", "EXPIRED").raw_status, "EXPIRED");
}

TEST(kannel_profile, an_unknown_type_is_pending_and_reported) {
  auto d = ok(builtin("kannel"), get("id=k3&type=0"));
  ASSERT_EQ(d.reports.size(), 1u);
  EXPECT_EQ(d.reports[0].canonical, report::status::pending);
  EXPECT_EQ(d.unknown_words, std::vector<std::string>{"type:0"});
}

TEST(kannel_profile, a_type_that_is_not_a_number_is_refused) {
  auto e = err(builtin("kannel"), get("id=k4&type=delivered"));
  EXPECT_EQ(e.error.reason, "type must be Kannel's numeric DLR type, got 'delivered'");
  EXPECT_EQ(e.error.field, "type");
}

// --- Jasmin's levels ------------------------------------------------------------------------

TEST(jasmin_profile, level_one_reads_the_smsc_answer_and_level_two_the_receipt) {
  const auto& p = builtin("jasmin");
  EXPECT_EQ(one(p, get("id=j1&message_status=ESME_ROK&level=1")).canonical, report::status::pending);
  // Throttling and a system error are transient SMSC answers: retried, so undelivered.
  EXPECT_EQ(one(p, get("id=j2&message_status=ESME_RTHROTTLED&level=1")).canonical, report::status::undelivered);
  EXPECT_EQ(one(p, get("id=j3&message_status=ESME_RSYSERR&level=1")).canonical, report::status::undelivered);
  EXPECT_EQ(one(p, get("id=j5&message_status=ESME_RINVDSTADR&level=1")).canonical, report::status::rejected);
  auto level2 = one(p, get("id=j4&message_status=DELIVRD&level=2&donedate=1311022338&err=000"));
  EXPECT_EQ(level2.canonical, report::status::delivered);
  EXPECT_FALSE(level2.error_code);
  // donedate is the SMSC's zone-less time: kept, but the event time is the time received
  // unless the operator names the SMSC's zone.
  EXPECT_EQ(level2.carrier_time, "1311022338");
  EXPECT_EQ(level2.event_at, received);
  EXPECT_FALSE(level2.event_time_from_gateway);
  auto named = one(from_yaml("timezone: UTC\n", "jasmin"), get("id=j4&message_status=DELIVRD&level=2&donedate=1311022338"));
  EXPECT_EQ(named.event_at, *report::parse_timestamp("2013-11-02T23:38:00.000000Z"));
  EXPECT_EQ(p.success_body, "ACK/Jasmin");
  EXPECT_EQ(p.success_content_type, "text/plain");
}

// --- SMPP receipt text ----------------------------------------------------------------------

TEST(smpp_profile, the_receipt_text_alone_gives_id_status_error_and_done_time) {
  auto r = one(builtin("smpp"), post("application/json",
                                     R"({"receipt":"id:77 sub:001 dlvrd:000 submit date:2305011200 done date:230501120130 stat:REJECTD err:0B1 text:hi"})"));
  EXPECT_EQ(r.message_id, "77");
  EXPECT_EQ(r.canonical, report::status::rejected);
  EXPECT_EQ(r.raw_status, "REJECTD");
  EXPECT_EQ(r.error_code, "0B1");
  EXPECT_FALSE(r.recipient);
  // The done date has no zone: kept for history, the event time only once the zone is named.
  EXPECT_EQ(r.carrier_time, "230501120130");
  EXPECT_EQ(r.event_at, received);
  auto named = one(from_yaml("timezone: \"+02:00\"\n", "smpp"), post("application/json",
                   R"({"receipt":"id:77 stat:REJECTD done date:230501120130"})"));
  EXPECT_EQ(named.event_at, *report::parse_timestamp("2023-05-01T10:01:30.000000Z"));
}

TEST(smpp_profile, a_receipt_field_without_a_receipt_is_refused) {
  auto e = err(builtin("smpp"), post("application/json", R"({"short_message":"hello there"})"));
  EXPECT_EQ(e.error.reason, "message_id is missing");
}

// --- Unknown words --------------------------------------------------------------------------

TEST(status_words, an_unknown_word_is_kept_raw_read_as_pending_and_reported) {
  auto d = ok(builtin("twilio"), post("application/x-www-form-urlencoded",
                                      "MessageSid=SM1&MessageStatus=partially_delivered&To=%2B15558675310"));
  ASSERT_EQ(d.reports.size(), 1u);
  EXPECT_EQ(d.reports[0].canonical, report::status::pending);
  EXPECT_EQ(d.reports[0].raw_status, "partially_delivered");
  EXPECT_EQ(d.unknown_words, std::vector<std::string>{"partially_delivered"});
}

TEST(status_words, the_profile_table_wins_over_the_common_vocabulary) {
  // "failed" is undelivered in the common vocabulary; Twilio's own word means "never sent".
  EXPECT_EQ(one(builtin("twilio"), get("MessageSid=SM2&MessageStatus=failed")).canonical, report::status::rejected);
  EXPECT_EQ(one(builtin("telnyx"),
                post("application/json", R"({"data":{"payload":{"id":"t1","to":[{"status":"cancelled"}]}}})"))
                .canonical,
            report::status::rejected);
}

// --- Bad inputs -----------------------------------------------------------------------------

TEST(bad_inputs, an_encoding_the_profile_does_not_take_is_unsupported) {
  auto json_to_twilio = err(builtin("twilio"), post("application/json", R"({"MessageSid":"x"})"));
  EXPECT_TRUE(json_to_twilio.unsupported);
  EXPECT_EQ(json_to_twilio.error.reason,
            "content type application/json is not supported here; send application/x-www-form-urlencoded or a "
            "query string");
  auto get_to_telnyx = err(builtin("telnyx"), get("id=1"));
  EXPECT_TRUE(get_to_telnyx.unsupported);
  EXPECT_EQ(get_to_telnyx.error.reason, "GET is not supported by this profile");
}

TEST(bad_inputs, invalid_payloads_name_their_field) {
  auto phone = err(builtin("vonage"), get("messageId=v9&status=delivered&msisdn=hello"));
  EXPECT_EQ(phone.error.reason, "msisdn is not a valid international phone number: 'hello'");
  EXPECT_EQ(phone.error.field, "msisdn");
  EXPECT_FALSE(phone.unsupported);
  auto escape = err(builtin("jasmin"), get("id=j9&message_status=%ZZ"));
  EXPECT_EQ(escape.error.reason, "query string has a malformed percent-escape");
  auto empty = err(builtin("smspm"), get(""));
  EXPECT_EQ(empty.error.reason, "no report in the query string");
  auto json = err(builtin("telnyx"), post("application/json", "{\"data\":"));
  EXPECT_EQ(json.error.reason, "body is not valid JSON");
  auto time = err(builtin("vonage"), get("messageId=v8&status=delivered&msisdn=447700900000&message-timestamp=yesterday"));
  EXPECT_EQ(time.error.field, "message-timestamp");
  EXPECT_EQ(time.error.reason, "message-timestamp 'yesterday' matches none of the formats %y%m%d%H%M, %y%m%d%H%M%S, "
                               "%Y-%m-%d %H:%M:%S, iso8601");
}

// --- Operator-defined profiles --------------------------------------------------------------

std::vector<profile> load_profiles(const std::string& yaml) {
  std::vector<profile> out;
  config::load_string(yaml, "test.yaml", [&out](config::section& root) {
    if (auto p = root.child("profiles")) {
      parse_profiles(*p, out);
      p->finish();
    }
    root.finish();
  });
  return out;
}

// A made-up gateway: one callback per account, deliveries each with their attempts; the
// number sits in a list, the sender at the root, times are local to the gateway (+02:00).
constexpr std::string_view acmetel_yaml = R"(
profiles:
  acmetel:
    description: "AcmeTel nested delivery attempts"
    encodings: [json]
    batch: "deliveries[].attempts[]"
    max_batch: 3
    fields:
      status: [outcome.code]
      recipient: [destination.numbers.0]
      sender: [origin]
      timestamp: [finished]
      error_code: [outcome.reason]
      cost: [charge.value]
      parts: [segments]
    message_id_template: "{account}/{ref}"
    statuses:
      ok: delivered
      tmp_*: pending
      perm_blocked: rejected
      perm_*: undelivered
    no_error_codes: ["none"]
    timestamp_formats: ["%Y-%m-%d %H:%M:%S"]
    timezone: "+02:00"
    success: { status: 202, content_type: text/plain, body: "thanks" }
)";

constexpr std::string_view acmetel_body = R"({
  "account": "acme-eu", "origin": "ACME",
  "deliveries": [
    {"ref": "r-1", "segments": 2, "charge": {"value": "0.0450"},
     "destination": {"numbers": ["+44 7700 900123", "+44 7700 900999"]},
     "attempts": [
       {"n": 1, "outcome": {"code": "TMP_ABSENT", "reason": "27"}, "finished": "2024-05-01 14:00:00"},
       {"n": 2, "outcome": {"code": "OK", "reason": "none"}, "finished": "2024-05-01 14:05:00"}]},
    {"ref": "r-2", "destination": {"numbers": ["0049 151 12345678"]},
     "attempts": [{"n": 1, "outcome": {"code": "PERM_UNKNOWN_SUBSCRIBER", "reason": "1"}, "finished": "2024-05-01 14:01:00"}]}
  ]
})";

TEST(generic_profile, a_made_up_gateways_nested_batch_decodes_from_yaml) {
  auto profiles = load_profiles(std::string(acmetel_yaml));
  ASSERT_EQ(profiles.size(), 1u);
  const auto& p = profiles[0];
  EXPECT_EQ(p.success_status, 202u);
  EXPECT_EQ(p.success_body, "thanks");
  auto d = ok(p, post("application/json", acmetel_body));
  ASSERT_EQ(d.reports.size(), 3u);
  const auto& first = d.reports[0];
  EXPECT_EQ(first.message_id, "acme-eu/r-1");
  EXPECT_EQ(first.canonical, report::status::pending);
  EXPECT_EQ(first.raw_status, "TMP_ABSENT");
  EXPECT_EQ(first.recipient, "+447700900123");
  EXPECT_EQ(first.sender, "ACME");
  EXPECT_EQ(first.error_code, "27");
  EXPECT_EQ(first.cost, "0.0450");
  EXPECT_EQ(first.parts, 2);
  EXPECT_EQ(first.provider, "acmetel");
  EXPECT_EQ(first.event_at, *report::parse_timestamp("2024-05-01T12:00:00.000000Z"));
  const auto& second = d.reports[1];
  EXPECT_EQ(second.message_id, "acme-eu/r-1");
  EXPECT_EQ(second.canonical, report::status::delivered);
  EXPECT_FALSE(second.error_code);
  EXPECT_EQ(second.event_at, *report::parse_timestamp("2024-05-01T12:05:00.000000Z"));
  const auto& third = d.reports[2];
  EXPECT_EQ(third.message_id, "acme-eu/r-2");
  EXPECT_EQ(third.canonical, report::status::undelivered);
  EXPECT_EQ(third.recipient, "+4915112345678");
  EXPECT_FALSE(third.cost);
  EXPECT_TRUE(d.unknown_words.empty());
}

TEST(generic_profile, a_specific_word_listed_before_its_prefix_wins) {
  auto p = load_profiles(std::string(acmetel_yaml)).at(0);
  auto d = ok(p, post("application/json", R"({"account":"a","deliveries":[{"ref":"r","attempts":[{"outcome":{"code":"perm_blocked"}}]}]})"));
  ASSERT_EQ(d.reports.size(), 1u);
  EXPECT_EQ(d.reports[0].canonical, report::status::rejected);
}

TEST(generic_profile, its_limits_and_required_parts_are_enforced) {
  auto p = load_profiles(std::string(acmetel_yaml)).at(0);
  auto too_many = err(p, post("application/json", R"({"account":"a","deliveries":[
      {"ref":"r","attempts":[{"outcome":{"code":"ok"}},{"outcome":{"code":"ok"}},{"outcome":{"code":"ok"}},{"outcome":{"code":"ok"}}]}]})"));
  EXPECT_EQ(too_many.error.reason, "batch has 4 reports; at most 3 are allowed");
  auto no_ref = err(p, post("application/json", R"({"account":"a","deliveries":[{"attempts":[{"outcome":{"code":"ok"}}]}]})"));
  EXPECT_EQ(no_ref.error.reason, "ref is missing (it is part of the message id)");
  EXPECT_EQ(no_ref.error.field, "deliveries[0].attempts[0].ref");
  auto bad_time = err(p, post("application/json", R"({"account":"a","deliveries":[{"ref":"r","attempts":[{"outcome":{"code":"ok"},"finished":"01/05/2024"}]}]})"));
  EXPECT_EQ(bad_time.error.field, "deliveries[0].attempts[0].finished");
}

TEST(generic_profile, extends_starts_from_the_built_in_and_overrides_its_words) {
  auto profiles = load_profiles(R"(
profiles:
  my_vonage:
    extends: vonage
    statuses:
      buffered: expired
)");
  ASSERT_EQ(profiles.size(), 1u);
  const auto& p = profiles[0];
  EXPECT_EQ(p.name, "my_vonage");
  auto r = one(p, get("messageId=v1&status=buffered&msisdn=447700900000&to=AcmeInc"));
  EXPECT_EQ(r.canonical, report::status::expired);
  EXPECT_EQ(r.recipient, "+447700900000");
  EXPECT_EQ(r.provider, "my_vonage");
  EXPECT_EQ(one(p, get("messageId=v2&status=delivered&msisdn=447700900000")).canonical, report::status::delivered);
}

TEST(generic_profile, configuration_mistakes_are_reported_with_their_key) {
  auto message_of = [](const std::string& yaml) {
    try {
      load_profiles(yaml);
    } catch (const config::config_error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  auto taken = message_of("profiles:\n  twilio:\n    fields: {message_id: [a], status: [b]}\n");
  EXPECT_NE(taken.find("'twilio' is a built-in profile"), std::string::npos) << taken;
  auto base = message_of("profiles:\n  x:\n    extends: nosuch\n    fields: {message_id: [a], status: [b]}\n");
  EXPECT_NE(base.find("no built-in profile 'nosuch'"), std::string::npos) << base;
  auto word = message_of("profiles:\n  x:\n    fields: {message_id: [a], status: [b]}\n    statuses: {done: finished}\n");
  EXPECT_NE(word.find("'done' maps to 'finished'"), std::string::npos) << word;
  auto id = message_of("profiles:\n  x:\n    fields: {status: [b]}\n");
  EXPECT_NE(id.find("message_id needs at least one field path"), std::string::npos) << id;
  auto enc = message_of("profiles:\n  x:\n    encodings: [xml]\n    fields: {message_id: [a], status: [b]}\n");
  EXPECT_NE(enc.find("unknown encoding 'xml'"), std::string::npos) << enc;
}

}  // namespace
}  // namespace dlrd::decode
