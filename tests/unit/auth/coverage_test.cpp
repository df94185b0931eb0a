// What the decoder reads, the signature covers: each signature scheme against requests
// whose read parts it does not sign, and every check failing closed when OpenSSL fails.
#include <dlrd/auth/auth.hpp>

#include "src/auth/detail.hpp"
#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

using test::check;
using test::failed_on;
using test::make_request;

constexpr std::string_view twilio_token = "12345";
constexpr std::string_view twilio_base = "https://dlr.example.com";
// A status callback Twilio sent as a GET: everything it reports is in the signed URL.
constexpr std::string_view get_target = "/webhooks/twilio?MessageSid=SM1&MessageStatus=sent";
// What an attacker posts to the same URL with that signature, without a Content-Type.
constexpr std::string_view forged_body = "MessageSid=SM2&MessageStatus=delivered&To=%2B15005550006";
constexpr std::string_view form = "application/x-www-form-urlencoded";
constexpr std::string_view json_body = R"({"messageId":"m-1","status":"DELIVRD"})";

const decode::reading twilio_profile_reading(const request& req) {
  return test::reading_for(decode::form_body | decode::query_string, req);
}

auth_config twilio_config_of() {
  auth_config c;
  c.twilio = twilio_config{{std::string(twilio_token)}, std::string(twilio_base)};
  return c;
}

std::string twilio_signature(std::string_view target, std::string_view params = {}) {
  return test::base64(test::openssl_hmac("sha1", twilio_token,
                                         std::string(twilio_base) + std::string(target) + std::string(params)));
}

TEST(auth_coverage, a_twilio_get_signature_does_not_sign_a_post_body_without_content_type) {
  const auto signature = twilio_signature(get_target);
  auto get = make_request(get_target, {}, {{"X-Twilio-Signature", signature}});
  ASSERT_TRUE(check(twilio_config_of(), get, {.reads = twilio_profile_reading(get)}).ok);
  auto forged = make_request(get_target, forged_body, {{"X-Twilio-Signature", signature}});
  ASSERT_EQ(twilio_profile_reading(forged).body, decode::reading::body_as::form);
  EXPECT_TRUE(failed_on(check(twilio_config_of(), forged, {.reads = twilio_profile_reading(forged)}),
                        "twilio: wrong signature"));
}

TEST(auth_coverage, a_twilio_body_read_as_a_form_is_signed_whatever_its_content_type) {
  // Sorted parameters, each name then its value, as Twilio signs them.
  const auto good = twilio_signature(get_target, "MessageSidSM2MessageStatusdeliveredTo+15005550006");
  for (std::string_view content_type : {std::string_view{}, form}) {
    auto req = content_type.empty() ? make_request(get_target, forged_body, {{"X-Twilio-Signature", good}})
                                    : make_request(get_target, forged_body,
                                                   {{"X-Twilio-Signature", good}, {"Content-Type", content_type}});
    EXPECT_TRUE(check(twilio_config_of(), req, {.reads = twilio_profile_reading(req)}).ok) << content_type;
  }
}

TEST(auth_coverage, a_twilio_body_read_as_json_is_refused_without_a_matching_body_sha256) {
  auto unsigned_body = make_request("/webhooks/custom", json_body,
                                    {{"X-Twilio-Signature", twilio_signature("/webhooks/custom")},
                                     {"Content-Type", "application/json"}});
  EXPECT_TRUE(failed_on(check(twilio_config_of(), unsigned_body), "twilio: body read as report data but not signed"));

  // Twilio's scheme for JSON: the signed URL carries the body's SHA-256 in hex.
  const std::string target = "/webhooks/custom?bodySHA256=" + test::to_hex(test::openssl_sha256(json_body));
  auto signed_body = make_request(target, json_body,
                                  {{"X-Twilio-Signature", twilio_signature(target)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(check(twilio_config_of(), signed_body).ok);
  auto changed_body = make_request(target, R"({"messageId":"m-1","status":"UNDELIV"})",
                                   {{"X-Twilio-Signature", twilio_signature(target)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(failed_on(check(twilio_config_of(), changed_body), "twilio: body read as report data but not signed"));
}

auth_config hmac_config_of() {
  auth_config c;
  c.hmac = hmac_config{};
  c.hmac->secrets = {"hmac-key"};
  return c;
}

std::string hmac_hex(std::string_view body) { return test::to_hex(test::openssl_hmac("sha256", "hmac-key", body)); }

TEST(auth_coverage, an_hmac_query_string_read_as_report_data_is_refused) {
  // A GET to a profile that takes GET: the report is in the query, the signature over "".
  auto get = make_request("/dlr?messageId=m-1&status=DELIVRD", {}, {{"X-Signature", hmac_hex("")}});
  EXPECT_TRUE(failed_on(check(hmac_config_of(), get), "hmac: query string read as report data but not signed"));
  // A signed body with fields added in the query, which the decoder reads where the body has none.
  auto post = make_request("/dlr?error_code=0", json_body, {{"X-Signature", hmac_hex(json_body)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(failed_on(check(hmac_config_of(), post), "hmac: query string read as report data but not signed"));
  // The same request to a profile that reads no query string passes.
  EXPECT_TRUE(check(hmac_config_of(), post, {.reads = test::reading_for(decode::json_body, post)}).ok);
  // Without a query string, or with only the endpoint's token parameter (pinned by the token check).
  auto plain = make_request("/dlr", json_body, {{"X-Signature", hmac_hex(json_body)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(check(hmac_config_of(), plain).ok);
  auto with_token = hmac_config_of();
  with_token.token = token_config{{"tok-1"}};
  auto token_only = make_request("/dlr?token=tok-1", json_body, {{"X-Signature", hmac_hex(json_body)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(check(with_token, token_only).ok);
  auto token_and_more = make_request("/dlr?token=tok-1&status=DELIVRD", json_body,
                                     {{"X-Signature", hmac_hex(json_body)}, {"Content-Type", "application/json"}});
  EXPECT_TRUE(failed_on(check(with_token, token_and_more), "hmac: query string read as report data but not signed"));
  // The token parameter is pinned only when it is the one the token check reads.
  EXPECT_TRUE(failed_on(check(with_token, token_only, {.path_token = "tok-1"}), "hmac: query string"));
}

TEST(auth_coverage, a_telnyx_query_string_read_as_report_data_is_refused) {
  auth_config c;
  c.telnyx.emplace();
  // RFC 8032 TEST 1's public key; the query is refused before the signature is looked at.
  c.telnyx->public_keys.push_back(
      test::base64(test::from_hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")));
  auto req = make_request("/telnyx?status=delivered", json_body,
                          {{"telnyx-signature-ed25519", test::base64(std::string(64, 'x'))},
                           {"telnyx-timestamp", std::to_string(test::now_seconds)},
                           {"Content-Type", "application/json"}});
  EXPECT_TRUE(failed_on(check(c, req), "telnyx: query string read as report data but not signed"));
  EXPECT_TRUE(failed_on(check(c, req, {.reads = test::reading_for(decode::json_body, req)}), "telnyx: wrong signature"));
}

TEST(auth_coverage, a_bare_prefix_never_matches_even_when_the_digest_fails) {
  auto c = hmac_config_of();
  c.hmac->prefix = "sha256=";
  auto req = make_request("/dlr", json_body, {{"X-Signature", "sha256="}, {"Content-Type", "application/json"}});
  EXPECT_FALSE(check(c, req).ok);
  detail::digest_failure_at = 1;
  EXPECT_FALSE(check(c, req).ok);
  detail::digest_failure_at = 0;
}

TEST(auth_coverage, an_openssl_failure_at_any_digest_refuses_a_correct_signature) {
  auto c = hmac_config_of();
  c.hmac->secrets = {"other-key", "hmac-key"};
  auto req = make_request("/dlr", json_body, {{"X-Signature", hmac_hex(json_body)}, {"Content-Type", "application/json"}});
  ASSERT_TRUE(check(c, req).ok);
  for (int n = 1; n <= 2; ++n) {  // one digest per secret: fail the first, then the second
    detail::digest_failure_at = n;
    EXPECT_TRUE(failed_on(check(c, req), "hmac: signature could not be computed")) << n;
  }
  detail::digest_failure_at = 0;

  auto get = make_request(get_target, {}, {{"X-Twilio-Signature", twilio_signature(get_target)}});
  ASSERT_TRUE(check(twilio_config_of(), get).ok);
  detail::digest_failure_at = 1;
  EXPECT_TRUE(failed_on(check(twilio_config_of(), get), "twilio: signature could not be computed"));
  detail::digest_failure_at = 0;
}

}  // namespace
}  // namespace dlrd::auth
