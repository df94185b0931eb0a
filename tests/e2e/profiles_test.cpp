// Provider profiles through the real binary: every documented callback of every built-in
// profile as raw HTTP, the rows it leaves in PostgreSQL, each gateway's expected answer, an
// operator-defined profile, and Twilio's request signatures.
#include "harness.hpp"

#include "support/pg_fixture.hpp"
#include "support/provider_fixtures.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

/// The fixture as bytes on the wire: its method, headers and body, its target's path
/// replaced by `path` (the query kept), Host and Content-Length set for this daemon.
std::string wire_request(const test::http_fixture& f, const std::string& path, int port,
                         const std::vector<std::pair<std::string, std::string>>& extra_headers = {}) {
  std::string query = f.query();
  std::string out = f.method + " " + path + (query.empty() ? "" : "?" + query) + " HTTP/1.1\r\n";
  out += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& [name, value] : f.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "host" || lower == "content-length" || lower == "connection") continue;
    bool replaced = false;
    for (const auto& [n, v] : extra_headers) replaced |= n == name;
    if (!replaced) out += name + ": " + value + "\r\n";
  }
  for (const auto& [n, v] : extra_headers) out += n + ": " + v + "\r\n";
  if (f.method != "GET" || !f.body.empty()) out += "Content-Length: " + std::to_string(f.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n" + f.body;
  return out;
}

struct raw_answer {
  int status = 0;
  std::string head;
  std::string body;
};

raw_answer exchange(int port, const std::string& bytes) {
  auto raw = raw_exchange(port, bytes, 10s);
  raw_answer a;
  a.status = status_of(raw);
  auto end = raw.find("\r\n\r\n");
  a.head = raw.substr(0, end);
  if (end != std::string::npos) a.body = raw.substr(end + 4);
  return a;
}

std::string header_of(const raw_answer& a, std::string name) {
  std::string head = a.head;
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto at = head.find("\r\n" + name + ":");
  if (at == std::string::npos) return {};
  auto start = at + 3 + name.size();
  auto stop = a.head.find("\r\n", start);
  auto v = a.head.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
  while (!v.empty() && v.front() == ' ') v.erase(0, 1);
  return v;
}

/// What each gateway must be answered once its reports are durable.
struct success_answer {
  std::string content_type;
  std::string body;
};
const std::map<std::string, success_answer> answers = {
    {"smspm", {"application/json", R"({"ok":true})"}},   {"vonage", {"application/json", R"({"ok":true})"}},
    {"sinch", {"application/json", R"({"ok":true})"}},   {"infobip", {"application/json", R"({"ok":true})"}},
    {"telnyx", {"application/json", R"({"ok":true})"}},  {"smpp", {"application/json", R"({"ok":true})"}},
    {"twilio", {"text/plain", ""}},                      {"kannel", {"text/plain", "OK"}},
    {"jasmin", {"text/plain", "ACK/Jasmin"}},          {"bandwidth", {"application/json", R"({"ok":true})"}},
    {"plivo", {"application/json", R"({"ok":true})"}},   {"messagebird", {"application/json", R"({"ok":true})"}},
    {"routee", {"application/json", R"({"ok":true})"}},  {"clickatell", {"application/json", R"({"ok":true})"}},
};

long long count(const std::string& url, const std::string& sql) {
  return test::query(url, sql)[0][0].as<long long>();
}

/// Polls until `sql` counts `want` rows; returns the last count.
long long wait_count(const std::string& url, const std::string& sql, long long want,
                     std::chrono::seconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  long long n = -1;
  while (std::chrono::steady_clock::now() < deadline) {
    n = count(url, sql);
    if (n == want) return n;
    std::this_thread::sleep_for(50ms);
  }
  return n;
}

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

/// "= 'x'" or "IS NULL", for a column that may be absent.
std::string is(const std::optional<std::string>& v) { return v ? "= " + quoted(*v) : "IS NULL"; }

class profiles_e2e : public ::testing::Test {
 protected:
  test::pg_database db_;
  temp_dir dir_;
};

TEST_F(profiles_e2e, every_documented_callback_is_answered_as_its_gateway_expects_and_stored) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  std::size_t expected_rows = 0, expected_events = 0;
  for (const auto& c : test::fixture_cases()) {
    SCOPED_TRACE(c.file);
    auto f = test::load_http_fixture(c.file);
    auto a = exchange(d.port(), wire_request(f, "/webhooks/" + c.profile, d.port()));
    const auto& want = answers.at(c.profile);
    EXPECT_EQ(a.status, 200) << a.head << "\n" << a.body;
    EXPECT_EQ(a.body, want.body);
    EXPECT_TRUE(header_of(a, "Content-Type").starts_with(want.content_type)) << a.head;
    expected_rows += c.reports.size();
    expected_events += c.reports.size();
  }
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs", static_cast<long long>(expected_rows)),
            static_cast<long long>(expected_rows))
      << d.log();
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_events", static_cast<long long>(expected_events)),
            static_cast<long long>(expected_events));
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);

  for (const auto& c : test::fixture_cases()) {
    for (const auto& r : c.reports) {
      SCOPED_TRACE(c.file + " " + r.message_id);
      auto id = quoted(r.message_id);
      auto row = test::query(db_.url(),
                             "SELECT status, raw_status, to_number, from_number, error_code, provider, parts, "
                             "cost_eur::text FROM sms_logs WHERE message_id = " + id);
      ASSERT_EQ(row.size(), 1u);
      EXPECT_EQ(row[0][0].as<std::string>(), r.status);
      EXPECT_EQ(row[0][1].as<std::string>(), r.raw_status);
      EXPECT_EQ(row[0][2].is_null() ? std::string("(null)") : row[0][2].as<std::string>(),
                r.recipient.value_or("(null)"));
      EXPECT_EQ(row[0][3].is_null() ? std::string("(null)") : row[0][3].as<std::string>(),
                r.sender.value_or("(null)"));
      EXPECT_EQ(row[0][4].is_null() ? std::string("(null)") : row[0][4].as<std::string>(),
                r.error_code.value_or("(null)"));
      EXPECT_EQ(row[0][5].as<std::string>(), c.profile);
      EXPECT_EQ(row[0][6].is_null() ? -1 : row[0][6].as<int>(), r.parts.value_or(-1));
      // cost_eur is numeric(10,6): compare as numbers, not text.
      EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = " + id + " AND cost_eur " +
                                     (r.cost ? "= " + quoted(*r.cost) + "::numeric" : std::string("IS NULL"))),
                1);
      std::string when = r.event_at ? "event_at = " + quoted(*r.event_at) + "::timestamptz AND event_time_from_gateway"
                                    : "event_at = received_at AND NOT event_time_from_gateway";
      EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events WHERE message_id = " + id + " AND status = " +
                                     quoted(r.status) + " AND raw_status = " + quoted(r.raw_status) +
                                     " AND provider = " + quoted(c.profile) + " AND recipient " + is(r.recipient) +
                                     " AND error_code " + is(r.error_code) + " AND carrier_time " +
                                     is(r.carrier_time) + " AND " + when),
                1);
      if (r.status == "delivered" && r.event_at) {
        EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = " + id +
                                       " AND delivered_at = " + quoted(*r.event_at) + "::timestamptz"),
                  1);
      }
    }
  }
}

TEST_F(profiles_e2e, a_batch_with_one_bad_report_is_quarantined_whole) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  // SMSPM's JSON array is one atomic batch (batch_errors: whole).
  constexpr std::string_view batch = R"([
      {"messageId":"atomic-1","to":"41793026727","status":"DELIVRD"},
      {"to":"41793026728","status":"DELIVRD"}])";
  auto r = c.post("/webhooks/smspm", batch);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true,"quarantined":true})");
  ASSERT_EQ(wait_count(db_.url(),
                       "SELECT count(*) FROM dlr_quarantine WHERE provider = 'smspm' AND field = "
                       "'[1].messageId' AND reason = 'messageId is missing' AND "
                       "convert_from(body, 'UTF8') = " + quoted(std::string(batch)),
                       1),
            1);
  // The quarantine row and any report of the same request are one spool record: none came.
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events"), 0);
}

TEST_F(profiles_e2e, one_bad_infobip_element_is_quarantined_alone_and_the_others_are_stored) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  constexpr std::string_view batch = R"({"results":[
      {"messageId":"each-1","to":"41793026727","status":{"groupName":"DELIVERED"}},
      {"to":"41793026728","status":{"groupName":"DELIVERED"}},
      {"messageId":"each-3","to":"41793026729","status":{"groupName":"UNDELIVERABLE"},"error":{"id":27,"permanent":false}}]})";
  auto r = c.post("/webhooks/infobip", batch);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok":true})");  // Infobip's success: the batch is taken
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs", 2), 2) << d.log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'each-1' AND status = 'delivered'"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'each-3' AND status = 'undelivered'"), 1);
  // The bad element alone, as a request a replay decodes again.
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM dlr_quarantine WHERE provider = 'infobip' AND field = 'results[1].messageId' "
                  "AND reason = 'messageId is missing' AND content_type = 'application/json' AND "
                  "convert_from(body, 'UTF8') = "
                  R"('{"results":[{"status":{"groupName":"DELIVERED"},"to":"41793026728"}]}')"),
            1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 1);
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("dlrd_quarantined_total 1\n"), std::string::npos) << metrics;
}

TEST_F(profiles_e2e, events_that_are_not_delivery_reports_are_answered_counted_and_never_stored) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  for (const auto& [profile, file] : {std::pair{"telnyx", "telnyx/received_inbound.http"},
                                      std::pair{"telnyx", "telnyx/received_inbound.http"},
                                      std::pair{"sinch", "sinch/batch_summary.http"}}) {
    auto f = test::load_http_fixture(file);
    auto a = exchange(d.port(), wire_request(f, std::string("/webhooks/") + profile, d.port()));
    EXPECT_EQ(a.status, 200) << a.head << a.body;
    EXPECT_EQ(a.body, R"({"ok":true})");
  }
  // A report sent after them is committed; had they written anything, it would be there too.
  auto after = test::load_http_fixture("telnyx/sent.http");
  EXPECT_EQ(exchange(d.port(), wire_request(after, "/webhooks/telnyx", d.port())).status, 200);
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_events", 1), 1) << d.log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE to_number = '+18445550001'"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);
  client c(d.port());
  auto metrics = c.get("/metrics").body;
  EXPECT_NE(metrics.find("dlrd_events_ignored_total{profile=\"telnyx\",reason=\"inbound\"} 2\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("dlrd_events_ignored_total{profile=\"sinch\",reason=\"summary\"} 1\n"), std::string::npos)
      << metrics;
}

TEST_F(profiles_e2e, the_error_code_decides_what_the_status_api_calls_retryable) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  for (const char* file : {"twilio/undelivered_spam_30007.http", "twilio/failed_queue_overflow_30001.http"}) {
    auto f = test::load_http_fixture(file);
    EXPECT_EQ(exchange(d.port(), wire_request(f, "/webhooks/twilio", d.port())).status, 200);
  }
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs", 2), 2) << d.log();
  client c(d.port());
  auto spam = nlohmann::json::parse(c.get("/v1/messages/SM30007a1b2c3d4e5f60718293a4b5c6d7").body);
  EXPECT_EQ(spam["status"], "rejected");
  EXPECT_EQ(spam["retryable"], false);
  auto queue = nlohmann::json::parse(c.get("/v1/messages/SM30001f9e8d7c6b5a49382716f5e4d3c2b").body);
  EXPECT_EQ(queue["status"], "undelivered");
  EXPECT_EQ(queue["retryable"], true);
}

TEST_F(profiles_e2e, a_quarantined_callback_gets_its_gateways_own_success_answer) {
  daemon d(dir_.path(), db_.url());
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  // No id: undecodable. Jasmin retries anything but exactly "ACK/Jasmin".
  auto r = c.post("/webhooks/jasmin", "message_status=DELIVRD&level=2", "application/x-www-form-urlencoded");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ACK/Jasmin");
  EXPECT_TRUE(r.headers["content-type"].starts_with("text/plain")) << r.headers["content-type"];
  auto k = c.get("/webhooks/kannel?type=1");
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(k.body, "OK");
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_quarantine", 2), 2) << d.log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine WHERE provider = 'jasmin' AND field = 'id'"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 0);
}

// The same made-up gateway as the unit test's: nested deliveries[].attempts[].
constexpr std::string_view acmetel_yaml = R"(profiles:
  acmetel:
    encodings: [json]
    batch: "deliveries[].attempts[]"
    fields:
      status: [outcome.code]
      recipient: [destination.numbers.0]
      sender: [origin]
      timestamp: [finished]
      error_code: [outcome.reason]
    message_id_template: "{account}/{ref}"
    statuses:
      ok: delivered
      tmp_*: pending
      perm_*: undelivered
    timestamp_formats: ["%Y-%m-%d %H:%M:%S"]
    timezone: "+02:00"
    success: { status: 202, content_type: text/plain, body: "thanks" }
  # An SMSC that answers submit_sm with a hex id and writes its receipts' ids in decimal.
  smsc_hex:
    extends: smpp
    id_match: decimal_to_hex_upper
    timezone: UTC              # the receipt's done date is the SMSC's clock, in UTC here
webhooks:
  - profile: acmetel
    path: /dlr/acmetel
  - profile: twilio
  - profile: telnyx
  - profile: smsc_hex
    path: /dlr/smsc
)";

class operator_profile_e2e : public profiles_e2e {
 protected:
  void SetUp() override {
    d_ = std::make_unique<daemon>(dir_.path(), db_.url(), std::string(acmetel_yaml));
    d_->start();
    ASSERT_TRUE(d_->wait_ready()) << d_->log();
  }
  std::unique_ptr<daemon> d_;
};

TEST_F(operator_profile_e2e, a_generic_profile_from_the_config_works_end_to_end) {
  client c(d_->port());
  auto r = c.post("/dlr/acmetel", R"({"account":"acme-eu","origin":"ACME","deliveries":[
      {"ref":"r-1","destination":{"numbers":["+44 7700 900123"]},"attempts":[
        {"outcome":{"code":"TMP_ABSENT","reason":"27"},"finished":"2024-05-01 14:00:00"},
        {"outcome":{"code":"OK"},"finished":"2024-05-01 14:05:00"}]},
      {"ref":"r-2","destination":{"numbers":["0049 151 12345678"]},"attempts":[
        {"outcome":{"code":"PERM_UNKNOWN_SUBSCRIBER","reason":"1"},"finished":"2024-05-01 14:01:00"}]}]})");
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "thanks");
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_events", 3), 3) << d_->log();
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs", 2), 2);
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM sms_logs WHERE message_id = 'acme-eu/r-1' AND status = 'delivered' AND "
                  "raw_status = 'OK' AND to_number = '+447700900123' AND from_number = 'ACME' AND provider = 'acmetel' "
                  "AND delivered_at = '2024-05-01T12:05:00Z'"),
            1);
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM sms_logs WHERE message_id = 'acme-eu/r-2' AND status = 'undelivered' AND "
                  "error_code = '1' AND to_number = '+4915112345678' AND status_at = '2024-05-01T12:01:00Z'"),
            1);
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM dlr_events WHERE message_id = 'acme-eu/r-1' AND status = 'pending' AND "
                  "raw_status = 'TMP_ABSENT' AND error_code = '27' AND event_at = '2024-05-01T12:00:00Z'"),
            1);
  // Only the configured endpoints exist.
  EXPECT_EQ(c.post("/webhooks/smspm", R"({"messageId":"x","status":"delivered"})").status, 404);
}

TEST_F(operator_profile_e2e, a_decimal_receipt_id_converges_on_the_send_logged_with_the_hex_submit_id) {
  // The send as logged from submit_sm_resp; the SMSC's receipt names it 0870928761.
  test::query(db_.url(), "SELECT dlr_log_send('33E95179', '+4915112345678')");
  client c(d_->port());
  auto r = c.post("/dlr/smsc",
                  "id:0870928761 sub:001 dlvrd:001 submit date:2603011000 done date:2603011002 stat:DELIVRD err:000 "
                  "text:hello",
                  "text/plain");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_events", 1), 1) << d_->log();
  EXPECT_EQ(count(db_.url(),
                  "SELECT count(*) FROM sms_logs WHERE message_id = '33E95179' AND status = 'delivered' AND "
                  "to_number = '+4915112345678' AND delivered_at = '2026-03-01T10:02:00Z'"),
            1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events WHERE carrier_time = '2603011002'"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 1);
}

TEST_F(operator_profile_e2e, an_unknown_status_word_is_stored_pending_and_counted) {
  client c(d_->port());
  auto r = c.post("/dlr/acmetel", R"({"account":"a","deliveries":[{"ref":"u-1","attempts":[
      {"outcome":{"code":"QUEUED_AT_CARRIER"}}]}]})");
  EXPECT_EQ(r.status, 202);
  ASSERT_EQ(wait_count(db_.url(),
                       "SELECT count(*) FROM sms_logs WHERE message_id = 'a/u-1' AND status = 'pending' AND "
                       "raw_status = 'QUEUED_AT_CARRIER'",
                       1),
            1);
  auto metrics = c.get("/metrics");
  EXPECT_NE(metrics.body.find("dlrd_unknown_status_total{profile=\"acmetel\",word=\"QUEUED_AT_CARRIER\"} 1\n"),
            std::string::npos)
      << metrics.body;
}

TEST_F(operator_profile_e2e, a_wrong_encoding_is_415_and_a_wrong_method_405_with_allow) {
  client c(d_->port());
  auto json_to_twilio = c.post("/webhooks/twilio", R"({"MessageSid":"SM1","MessageStatus":"delivered"})");
  EXPECT_EQ(json_to_twilio.status, 415);
  EXPECT_NE(json_to_twilio.body.find("application/x-www-form-urlencoded"), std::string::npos) << json_to_twilio.body;
  auto form_to_telnyx = c.post("/webhooks/telnyx", "a=b", "application/x-www-form-urlencoded");
  EXPECT_EQ(form_to_telnyx.status, 415);
  auto get_telnyx = c.get("/webhooks/telnyx?data=1");
  EXPECT_EQ(get_telnyx.status, 405);
  EXPECT_EQ(get_telnyx.headers["allow"], "POST");
  auto put_twilio = c.send("PUT", "/webhooks/twilio", "MessageSid=SM1", "application/x-www-form-urlencoded");
  EXPECT_EQ(put_twilio.status, 405);
  EXPECT_EQ(put_twilio.headers["allow"], "GET, POST");
  auto delete_acmetel = c.send("DELETE", "/dlr/acmetel", "", "");
  EXPECT_EQ(delete_acmetel.status, 405);
  EXPECT_EQ(delete_acmetel.headers["allow"], "POST");
  // Refused requests are answered at once and never stored, not even in quarantine.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events"), 0);
}

TEST_F(operator_profile_e2e, a_media_type_in_capitals_with_parameters_is_the_same_type) {
  client c(d_->port());
  auto r = c.post("/webhooks/twilio", "MessageSid=SMcaps1&MessageStatus=delivered&To=%2B447700900123",
                  " Application/X-WWW-Form-URLEncoded ; Charset=UTF-8");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'SMcaps1' AND status = 'delivered'", 1),
            1);
}

// --- Quarantine replay --------------------------------------------------------------------

TEST_F(profiles_e2e, quarantined_callbacks_are_replayed_through_a_fixed_profile) {
  // A profile whose message id path is wrong: the gateway sends `ref`, the profile reads `msgid`.
  const std::string broken = "profiles:\n  legacy:\n    encodings: [json, query]\n    fields:\n"
                             "      message_id: [msgid]\n      status: [state]\n      recipient: [to]\n"
                             "webhooks:\n  - profile: legacy\n    path: /dlr/legacy\n";
  daemon d(dir_.path(), db_.url(), broken);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  client c(d.port());
  ASSERT_EQ(c.post("/dlr/legacy", R"({"ref":"q-1","state":"DELIVRD","to":"+447700900123"})").status, 200);
  ASSERT_EQ(c.get("/dlr/legacy?ref=q-2&state=UNDELIV&to=%2B4915112345678").status, 200);
  ASSERT_EQ(c.post("/dlr/legacy", "not json at all").status, 200);
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_quarantine", 3), 3) << d.log();

  // The operator fixes the profile; the daemon keeps running (the command is safe beside it).
  const std::string dlrd = DLRD_BINARY;
  auto fixed = read_file(d.config_path());
  fixed.replace(fixed.find("[msgid]"), 7, "[ref]");
  write_file(d.config_path(), fixed);
  const std::string cmd = dlrd + " quarantine %s --config " + d.config_path() + " 2>&1";
  auto run = [&](const std::string& args, int& code) {
    char buf[512];
    std::snprintf(buf, sizeof buf, cmd.c_str(), args.c_str());
    return run_command(buf, code);
  };
  int code = -1;
  auto listed = run("list", code);
  EXPECT_EQ(code, 0) << listed;
  EXPECT_NE(listed.find("3 payload(s) waiting for a replay"), std::string::npos) << listed;
  EXPECT_NE(listed.find(R"({"ref":"q-1")"), std::string::npos) << listed;
  EXPECT_NE(listed.find("/dlr/legacy?ref=q-2"), std::string::npos) << listed;

  auto dry = run("replay --dry-run", code);
  EXPECT_EQ(code, 3) << dry;
  EXPECT_NE(dry.find("would replay 2 payload(s) into 2 report(s); 1 still undecodable"), std::string::npos) << dry;
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 0);

  auto replayed = run("replay", code);
  EXPECT_EQ(code, 3) << replayed;  // one payload is not a report under any profile
  EXPECT_NE(replayed.find("replayed 2 payload(s) into 2 report(s); 1 still undecodable"), std::string::npos)
      << replayed;
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'q-1' AND status = 'delivered' "
                             "AND to_number = '+447700900123' AND provider = 'legacy'"),
            1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'q-2' AND status = 'undelivered' "
                             "AND to_number = '+4915112345678'"),
            1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events WHERE message_id IN ('q-1', 'q-2')"), 2);
  // The same write path as the daemon's: the failure is noticed once.
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_alert_outbox WHERE message_id = 'q-2'"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine WHERE replayed_at IS NOT NULL"), 2);

  // Again: nothing left to replay but the undecodable one; nothing is written twice.
  auto again = run("replay", code);
  EXPECT_EQ(code, 3) << again;
  EXPECT_NE(again.find("replayed 0 payload(s) into 0 report(s); 1 still undecodable"), std::string::npos) << again;
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events"), 2);
  auto all = run("list --all", code);
  EXPECT_EQ(code, 0) << all;
  EXPECT_NE(all.find("3 payload(s)"), std::string::npos) << all;
  EXPECT_NE(all.find("(replayed "), std::string::npos) << all;
  auto bad_word = run("purge", code);
  EXPECT_EQ(code, 2) << bad_word;
}

// --- Twilio signatures ----------------------------------------------------------------------

constexpr std::string_view twilio_token = "12345678901234567890123456789012";
constexpr std::string_view public_base = "https://dlr.example.com";

/// X-Twilio-Signature as Twilio documents it: base64(HMAC-SHA1(auth token, full URL followed
/// by each POST parameter's name and value, sorted by name)).
std::string twilio_signature(std::string_view url, const std::string& form_body) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string_view rest = form_body;
  auto unescape = [](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') out += ' ';
      else if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    auto eq = pair.find('=');
    params.emplace_back(unescape(pair.substr(0, eq)),
                        eq == std::string_view::npos ? std::string() : unescape(pair.substr(eq + 1)));
  }
  std::sort(params.begin(), params.end());
  std::string data(url);
  for (const auto& [k, v] : params) data += k + v;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), twilio_token.data(), static_cast<int>(twilio_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len);
  std::string b64(4 * ((mac_len + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, static_cast<int>(mac_len));
  b64.resize(static_cast<std::size_t>(n));
  return b64;
}

class twilio_signature_e2e : public profiles_e2e {
 protected:
  void SetUp() override {
    std::string yaml = "webhooks:\n  - profile: twilio\n    auth:\n      twilio:\n        auth_tokens: [\"" +
                       std::string(twilio_token) + "\"]\n        public_base_url: \"" + std::string(public_base) +
                       "\"\n";
    d_ = std::make_unique<daemon>(dir_.path(), db_.url(), yaml);
    d_->start();
    ASSERT_TRUE(d_->wait_ready()) << d_->log();
  }
  int send(const test::http_fixture& f, const std::string& signature) {
    return exchange(d_->port(), wire_request(f, "/webhooks/twilio", d_->port(), {{"X-Twilio-Signature", signature}}))
        .status;
  }
  std::unique_ptr<daemon> d_;
};

TEST_F(twilio_signature_e2e, a_signed_request_is_accepted_and_any_changed_byte_is_refused) {
  const std::string url = std::string(public_base) + "/webhooks/twilio";
  // Refused first: once the accepted request's row is in, none of these can still arrive.
  auto forged = test::load_http_fixture("twilio/undelivered.http");
  const auto good = twilio_signature(url, forged.body);

  std::string other_url = url;
  other_url.back() = 'O';  // signed for /webhooks/twiliO
  EXPECT_EQ(send(forged, twilio_signature(other_url, forged.body)), 401);

  auto changed_param = forged;
  auto at = changed_param.body.find("To=%2B15558675311");
  ASSERT_NE(at, std::string::npos);
  changed_param.body[at + std::string_view("To=%2B1555867531").size()] = '9';
  EXPECT_EQ(send(changed_param, good), 401);

  std::string changed_header = good;
  changed_header[0] = changed_header[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(send(forged, changed_header), 401);
  EXPECT_EQ(send(forged, ""), 401);

  auto signed_request = test::load_http_fixture("twilio/delivered.http");
  auto a = exchange(d_->port(), wire_request(signed_request, "/webhooks/twilio", d_->port(),
                                             {{"X-Twilio-Signature", twilio_signature(url, signed_request.body)}}));
  EXPECT_EQ(a.status, 200) << a.head << a.body;
  ASSERT_EQ(wait_count(db_.url(),
                       "SELECT count(*) FROM sms_logs WHERE message_id = 'SM1342fe1b2c904d1ab04f0fc7a58abca9' AND "
                       "status = 'delivered'",
                       1),
            1)
      << d_->log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);
  // And the unchanged forged-for request, properly signed, is accepted: the refusals were
  // about the bytes changed, nothing else.
  EXPECT_EQ(send(forged, good), 200);
}

}  // namespace
}  // namespace dlrd::e2e
