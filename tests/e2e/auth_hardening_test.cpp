// Signed endpoints through the real binary: what the decoder reads the signature must cover
// (a Twilio GET signature replayed on a POST body without Content-Type, an HMAC endpoint
// called by GET with the report in the query), Standard Webhooks signatures (accepted, or
// refused like any other auth failure), and quarantined GETs keep no URL secrets.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pqxx/pqxx>

#include <memory>
#include <string>
#include <thread>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view twilio_token = "12345678901234567890123456789012";
constexpr std::string_view public_base = "https://dlr.example.com";

constexpr std::string_view endpoints_yaml = R"(webhooks:
  - profile: twilio
    auth:
      twilio: { auth_tokens: ["12345678901234567890123456789012"], public_base_url: "https://dlr.example.com" }
  - profile: smspm
    path: /hmac/smspm
    auth:
      hmac: { header: X-Signature, algorithm: sha256, encoding: hex, prefix: "sha256=", secrets: ["hmac-key"] }
  - profile: smspm
    path: /standard/smspm
    auth:
      standard_webhooks: { secrets: ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], tolerance: 5m }
  - profile: kannel
    path: /query-token/kannel
    auth:
      token: { values: ["query-secret-1"] }
  - profile: kannel
    path: /path-token/{token}/kannel
    auth:
      token: { values: ["path-secret-1"] }
)";

// A status callback Twilio sent as a GET (everything in the signed URL), and a body an
// attacker posts to the same URL, with that signature and no Content-Type.
constexpr std::string_view twilio_get_target = "/webhooks/twilio?MessageSid=SMget1&MessageStatus=sent&To=%2B15005550006";
constexpr std::string_view forged_form = "MessageSid=SMforged1&MessageStatus=delivered&To=%2B15005550006";
constexpr std::string_view signed_json =
    R"({"messageId":"hmac-ok-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
constexpr std::string_view hmac_get_target =
    "/hmac/smspm?messageId=hmac-get-1&status=DELIVRD&to=%2B4915112345678&timestamp=2026-03-01T10:00:00Z";

std::string base64(const unsigned char* raw, unsigned len) {
  std::string out(4 * ((len + 2) / 3), '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), raw, static_cast<int>(len))));
  return out;
}

/// base64(HMAC-SHA1(auth token, URL)): Twilio's signature of a GET, computed here with OpenSSL.
std::string twilio_get_signature(std::string_view target) {
  const std::string url = std::string(public_base) + std::string(target);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha1(), twilio_token.data(), static_cast<int>(twilio_token.size()),
       reinterpret_cast<const unsigned char*>(url.data()), url.size(), mac, &len);
  return base64(mac, len);
}

std::string hmac_sha256_hex(std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), "hmac-key", 8, reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) (out += digits[mac[i] >> 4]) += digits[mac[i] & 15];
  return out;
}

/// base64(HMAC-SHA256(the spec vector's key bytes, "<id>.<timestamp>.<body>")): a Standard
/// Webhooks v1 signature, computed here with OpenSSL.
std::string standard_webhooks_signature(std::string_view id, std::int64_t timestamp, std::string_view body) {
  static const unsigned char key[] = {0x31, 0xf2, 0x90, 0xf6, 0xbf, 0x06, 0x29, 0x8a, 0xab, 0x4f, 0x08, 0xd4,
                                      0x3c, 0x3f, 0x08, 0x2c, 0xf6, 0x48, 0xa3, 0x62, 0xda, 0x2d, 0xa4, 0xb0};
  const std::string text = std::string(id) + "." + std::to_string(timestamp) + "." + std::string(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return base64(mac, len);
}

/// A request on its own connection; `headers` are whole lines without CRLF. The raw answer.
std::string exchange(int port, std::string_view method, std::string_view target, std::string_view body,
                     const std::vector<std::string>& headers) {
  std::string bytes = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) bytes += h + "\r\n";
  if (method != "GET" || !body.empty()) bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  bytes += "\r\n" + std::string(body);
  return raw_exchange(port, bytes, 10s);
}

int send(int port, std::string_view method, std::string_view target, std::string_view body,
         const std::vector<std::string>& headers) {
  return status_of(exchange(port, method, target, body, headers));
}

/// An answer's status line and body, without the headers that vary (Date).
std::string shape_of(const std::string& raw) {
  auto line_end = raw.find("\r\n");
  auto body = raw.find("\r\n\r\n");
  return raw.substr(0, line_end) + "|" + (body == std::string::npos ? std::string() : raw.substr(body + 4));
}

long long count(const std::string& url, const std::string& sql) { return test::query(url, sql)[0][0].as<long long>(); }

long long wait_count(const std::string& url, const std::string& sql, long long want) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  long long n = -1;
  while (std::chrono::steady_clock::now() < deadline && (n = count(url, sql)) != want) std::this_thread::sleep_for(50ms);
  return n;
}

class auth_hardening_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    d_ = std::make_unique<daemon>(dir_.path(), db_.url(), std::string(endpoints_yaml));
    d_->start();
    ASSERT_TRUE(d_->wait_ready()) << d_->log();
  }
  test::pg_database db_;
  temp_dir dir_;
  std::unique_ptr<daemon> d_;
};

TEST_F(auth_hardening_e2e, a_twilio_get_signature_does_not_authorize_a_post_body_without_content_type) {
  const auto signature = "X-Twilio-Signature: " + twilio_get_signature(twilio_get_target);
  EXPECT_EQ(send(d_->port(), "POST", twilio_get_target, forged_form, {signature}), 401);
  EXPECT_EQ(send(d_->port(), "POST", twilio_get_target, forged_form,
                 {signature, "Content-Type: application/x-www-form-urlencoded"}),
            401);
  // The GET it was captured from is still accepted; once its row is in, the forged one would be too.
  EXPECT_EQ(send(d_->port(), "GET", twilio_get_target, {}, {signature}), 200) << d_->log();
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'SMget1'", 1), 1) << d_->log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'SMforged1'"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);
}

TEST_F(auth_hardening_e2e, an_hmac_endpoint_refuses_a_report_in_the_query_string_it_does_not_sign) {
  // A GET: the signature covers the empty body, a fixed value whatever the query says.
  EXPECT_EQ(send(d_->port(), "GET", hmac_get_target, {}, {"X-Signature: sha256=" + hmac_sha256_hex("")}), 401);
  // A signed body with a field added in the query (read where the body has none).
  EXPECT_EQ(send(d_->port(), "POST", "/hmac/smspm?error_code=0", signed_json,
                 {"Content-Type: application/json", "X-Signature: sha256=" + hmac_sha256_hex(signed_json)}),
            401);
  // A bare prefix is no signature.
  EXPECT_EQ(send(d_->port(), "POST", "/hmac/smspm", signed_json, {"Content-Type: application/json", "X-Signature: sha256="}),
            401);
  EXPECT_EQ(send(d_->port(), "POST", "/hmac/smspm", signed_json,
                 {"Content-Type: application/json", "X-Signature: sha256=" + hmac_sha256_hex(signed_json)}),
            200)
      << d_->log();
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'hmac-ok-1'", 1), 1) << d_->log();
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs"), 1);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_events"), 1);
}

TEST_F(auth_hardening_e2e, a_standard_webhooks_signature_is_checked_and_a_refusal_looks_like_any_other) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto headers = [](std::string_view id, std::int64_t ts, const std::string& signature) {
    return std::vector<std::string>{"Content-Type: application/json", "webhook-id: " + std::string(id),
                                    "webhook-timestamp: " + std::to_string(ts), "webhook-signature: " + signature};
  };
  const auto good = "v1," + standard_webhooks_signature("msg_sw1", now, signed_json);
  // A rotated-out key's signature first: any entry of the list may match.
  const auto listed = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= " + good;
  EXPECT_EQ(send(d_->port(), "POST", "/standard/smspm", signed_json, headers("msg_sw1", now, listed)), 200) << d_->log();
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'hmac-ok-1'", 1), 1) << d_->log();

  // A wrong signature is refused exactly as a wrong HMAC is: same status, same body.
  const std::string other_json =
      R"({"messageId":"sw-forged-1","status":"DELIVRD","to":"+4915112345678","timestamp":"2026-03-01T10:00:00Z"})";
  auto refused = exchange(d_->port(), "POST", "/standard/smspm", other_json, headers("msg_sw2", now, good));
  auto hmac_refused = exchange(d_->port(), "POST", "/hmac/smspm", other_json,
                               {"Content-Type: application/json", "X-Signature: sha256=" + hmac_sha256_hex(signed_json)});
  EXPECT_EQ(status_of(refused), 401) << refused;
  EXPECT_EQ(shape_of(refused), shape_of(hmac_refused));
  // A stale timestamp, correctly signed with the right key, is a replay.
  const auto stale = now - 600;
  EXPECT_EQ(send(d_->port(), "POST", "/standard/smspm", other_json,
                 headers("msg_sw3", stale, "v1," + standard_webhooks_signature("msg_sw3", stale, other_json))),
            401);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM sms_logs WHERE message_id = 'sw-forged-1'"), 0);
  EXPECT_EQ(count(db_.url(), "SELECT count(*) FROM dlr_quarantine"), 0);
}

TEST_F(auth_hardening_e2e, a_quarantined_get_keeps_no_token_from_its_url) {
  // Authenticated, but no message id: quarantined as its target.
  EXPECT_EQ(send(d_->port(), "GET", "/query-token/kannel?type=1&token=query-secret-1&to=%2B4915112345678", {}, {}), 200);
  EXPECT_EQ(send(d_->port(), "GET", "/path-token/path-secret-1/kannel?type=1&to=%2B4915112345678", {}, {}), 200);
  ASSERT_EQ(wait_count(db_.url(), "SELECT count(*) FROM dlr_quarantine", 2), 2) << d_->log();
  // Two writers may commit them in either order: order by what each is, not by id.
  auto rows = test::query(db_.url(),
                          "SELECT convert_from(body, 'UTF8') AS b FROM dlr_quarantine "
                          "ORDER BY position('/query-token/' in convert_from(body, 'UTF8')) DESC");
  for (const auto& row : rows) {
    auto body = row[0].as<std::string>();
    EXPECT_EQ(body.find("secret-1"), std::string::npos) << body;
    EXPECT_NE(body.find("type=1&"), std::string::npos) << body;  // the report itself is kept
  }
  EXPECT_NE(rows[0][0].as<std::string>().find("token=REDACTED"), std::string::npos) << rows[0][0].as<std::string>();
  EXPECT_NE(rows[1][0].as<std::string>().find("/path-token/REDACTED/kannel"), std::string::npos)
      << rows[1][0].as<std::string>();
  EXPECT_EQ(d_->log().find("secret-1"), std::string::npos) << d_->log();
}

}  // namespace
}  // namespace dlrd::e2e
