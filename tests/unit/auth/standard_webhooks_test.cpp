// Standard Webhooks signatures: the spec's published test vector, lists of signatures (key
// rotation), versions other than v1, the secret's whsec_ prefix, and the replay tolerance.
// Source of the vector: tests/fixtures/standard_webhooks/SOURCE.md.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

using test::at;
using test::check;
using test::failed_on;
using test::make_request;

// The reference library's "sign function works" vector.
constexpr std::string_view spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
constexpr std::string_view spec_payload = R"({"test": 2432232314})";
constexpr std::string_view spec_signature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
// Another key (24 bytes of base64), standing for the one being rotated out.
constexpr std::string_view other_secret = "whsec_c2Vjb25kIGtleSBvZiBhdCBsZWFzdCAyNCBi";

auth_config standard_webhooks_of(std::vector<std::string> secrets) {
  auth_config c;
  c.standard_webhooks.emplace();
  c.standard_webhooks->secrets = std::move(secrets);
  return c;
}

request signed_request(std::string_view signature, std::string_view body = spec_payload,
                       std::string_view timestamp = "1614265330", std::string_view target = "/webhooks/smspm") {
  return make_request(target, body,
                      {{"Content-Type", "application/json"},
                       {"webhook-id", spec_id},
                       {"webhook-timestamp", timestamp},
                       {"webhook-signature", signature}});
}

test::call at_spec_time() { return {.now = at(spec_timestamp)}; }

TEST(auth_standard_webhooks, the_spec_vector_passes_with_or_without_the_whsec_prefix) {
  EXPECT_TRUE(
      check(standard_webhooks_of({std::string(spec_secret)}), signed_request(spec_signature), at_spec_time()).ok);
  EXPECT_TRUE(
      check(standard_webhooks_of({std::string(spec_secret.substr(6))}), signed_request(spec_signature), at_spec_time())
          .ok);
  // The signature is the base64 of HMAC-SHA256(key bytes, "id.timestamp.body").
  const auto key = test::from_hex("31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0");
  EXPECT_EQ(key.size(), 24u);
  EXPECT_EQ("v1," + test::base64(test::openssl_hmac("sha256", key,
                                                    std::string(spec_id) + ".1614265330." + std::string(spec_payload))),
            spec_signature);
}

TEST(auth_standard_webhooks, any_v1_entry_of_the_list_may_match_and_other_versions_are_skipped) {
  const auto c = standard_webhooks_of({std::string(spec_secret)});
  const std::string wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
  const std::string as_v2 = "v2," + std::string(spec_signature.substr(3));
  EXPECT_TRUE(
      check(c, signed_request(wrong + " " + as_v2 + " " + std::string(spec_signature) + " " + wrong), at_spec_time())
          .ok);
  EXPECT_TRUE(
      failed_on(check(c, signed_request(wrong + " " + as_v2), at_spec_time()), "standard_webhooks: wrong signature"));
  // No v1 entry at all, or a v1 entry that is not base64, is no signature.
  EXPECT_TRUE(failed_on(check(c, signed_request(as_v2), at_spec_time()), "standard_webhooks: malformed signature"));
  EXPECT_TRUE(failed_on(check(c, signed_request("v1,"), at_spec_time()), "standard_webhooks: malformed signature"));
  EXPECT_TRUE(
      failed_on(check(c, signed_request("v1,not base64!"), at_spec_time()), "standard_webhooks: malformed signature"));
}

TEST(auth_standard_webhooks, a_rotated_secret_list_accepts_either_key) {
  const auto c = standard_webhooks_of({std::string(other_secret), std::string(spec_secret)});
  EXPECT_TRUE(check(c, signed_request(spec_signature), at_spec_time()).ok);
  EXPECT_TRUE(failed_on(
      check(standard_webhooks_of({std::string(other_secret)}), signed_request(spec_signature), at_spec_time()),
      "standard_webhooks: wrong signature"));
}

TEST(auth_standard_webhooks, a_changed_id_timestamp_or_body_fails) {
  const auto c = standard_webhooks_of({std::string(spec_secret)});
  EXPECT_TRUE(failed_on(check(c, signed_request(spec_signature, R"({"test": 2432232315})"), at_spec_time()),
                        "standard_webhooks: wrong signature"));
  EXPECT_TRUE(failed_on(check(c, signed_request(spec_signature, spec_payload, "1614265331"), at_spec_time()),
                        "standard_webhooks: wrong signature"));
  auto other_id = signed_request(spec_signature);
  other_id.set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJel");
  EXPECT_TRUE(failed_on(check(c, other_id, at_spec_time()), "standard_webhooks: wrong signature"));
}

TEST(auth_standard_webhooks, a_timestamp_beyond_the_tolerance_either_way_is_refused) {
  auto c = standard_webhooks_of({std::string(spec_secret)});
  EXPECT_TRUE(check(c, signed_request(spec_signature), {.now = at(spec_timestamp + 300)}).ok);
  EXPECT_TRUE(check(c, signed_request(spec_signature), {.now = at(spec_timestamp - 300)}).ok);
  EXPECT_TRUE(failed_on(check(c, signed_request(spec_signature), {.now = at(spec_timestamp + 301)}),
                        "standard_webhooks: stale timestamp"));
  EXPECT_TRUE(failed_on(check(c, signed_request(spec_signature), {.now = at(spec_timestamp - 301)}),
                        "standard_webhooks: stale timestamp"));
  c.standard_webhooks->tolerance = std::chrono::hours(1);
  EXPECT_TRUE(check(c, signed_request(spec_signature), {.now = at(spec_timestamp + 3600)}).ok);
}

TEST(auth_standard_webhooks, missing_headers_and_an_unsigned_query_are_refused) {
  const auto c = standard_webhooks_of({std::string(spec_secret)});
  for (auto name : {"webhook-id", "webhook-timestamp", "webhook-signature"}) {
    auto req = signed_request(spec_signature);
    req.erase(name);
    auto v = check(c, req, at_spec_time());
    EXPECT_TRUE(failed_on(v, "standard_webhooks: missing")) << name << ": " << v.reason;
    EXPECT_EQ(verifier::label_of(v), "standard_webhooks");
  }
  // The signature covers the body only: report fields in the query are not signed.
  auto req = signed_request(spec_signature, spec_payload, "1614265330", "/webhooks/smspm?status=delivered");
  EXPECT_TRUE(
      failed_on(check(c, req, at_spec_time()), "standard_webhooks: query string read as report data but not signed"));
}

}  // namespace
}  // namespace dlrd::auth
