// Generic HMAC over the body: algorithms and encodings (RFC 4231 / RFC 2202 vectors),
// prefixes, rotated secrets, and the timestamp replay window.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

#include <cctype>

namespace dlrd::auth {
namespace {

using test::check;
using test::failed_on;
using test::make_request;

// RFC 4231 test case 2 (and RFC 2202 test case 2 for SHA-1).
constexpr std::string_view rfc_key = "Jefe";
constexpr std::string_view rfc_body = "what do ya want for nothing?";
constexpr std::string_view rfc_sha1_hex = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
constexpr std::string_view rfc_sha256_hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
constexpr std::string_view rfc_sha256_base64 = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=";
constexpr std::string_view rfc_sha512_hex =
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737";

auth_config hmac_of(hmac_config h) {
  auth_config c;
  c.hmac = std::move(h);
  return c;
}

hmac_config rfc_config(std::string algorithm, std::string encoding = "hex") {
  hmac_config h;
  h.algorithm = std::move(algorithm);
  h.encoding = std::move(encoding);
  h.secrets = {"not-this-one", std::string(rfc_key)};
  return h;
}

TEST(auth_hmac, the_rfc_vectors_pass_for_each_algorithm_and_encoding) {
  EXPECT_TRUE(check(hmac_of(rfc_config("sha1")), make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha1_hex}})).ok);
  EXPECT_TRUE(check(hmac_of(rfc_config("sha256")), make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha256_hex}})).ok);
  EXPECT_TRUE(check(hmac_of(rfc_config("sha512")), make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha512_hex}})).ok);
  EXPECT_TRUE(check(hmac_of(rfc_config("sha256", "base64")),
                    make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha256_base64}})).ok);
  // Hex in upper case is the same signature.
  std::string upper(rfc_sha256_hex);
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_TRUE(check(hmac_of(rfc_config("sha256")), make_request("/dlr", rfc_body, {{"X-Signature", upper}})).ok);
}

TEST(auth_hmac, a_changed_body_algorithm_or_signature_byte_fails) {
  EXPECT_TRUE(failed_on(check(hmac_of(rfc_config("sha256")),
                              make_request("/dlr", "what do ya want for nothing!", {{"X-Signature", rfc_sha256_hex}})),
                        "hmac: wrong signature"));
  EXPECT_TRUE(failed_on(check(hmac_of(rfc_config("sha512")), make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha256_hex}})),
                        "hmac: wrong signature"));
  std::string sig(rfc_sha256_hex);
  for (std::size_t i = 0; i < sig.size(); ++i) {
    std::string changed = sig;
    changed[i] = changed[i] == '0' ? '1' : '0';
    EXPECT_FALSE(check(hmac_of(rfc_config("sha256")), make_request("/dlr", rfc_body, {{"X-Signature", changed}})).ok) << i;
  }
}

TEST(auth_hmac, each_rotated_secret_passes_and_a_wrong_one_fails) {
  hmac_config h;
  h.header = "X-Hub-Signature-256";
  h.prefix = "sha256=";
  h.secrets = {"current", "previous"};
  const std::string body = R"({"id":"m-1","status":"DELIVERED"})";
  for (std::string secret : {"current", "previous"}) {
    auto sig = "sha256=" + test::to_hex(test::openssl_hmac("sha256", secret, body));
    EXPECT_TRUE(check(hmac_of(h), make_request("/dlr", body, {{"X-Hub-Signature-256", sig}})).ok) << secret;
  }
  auto wrong = "sha256=" + test::to_hex(test::openssl_hmac("sha256", "guessed", body));
  EXPECT_TRUE(failed_on(check(hmac_of(h), make_request("/dlr", body, {{"X-Hub-Signature-256", wrong}})), "hmac: wrong signature"));
}

TEST(auth_hmac, a_missing_header_or_prefix_or_a_bad_encoding_fails) {
  hmac_config h = rfc_config("sha256");
  h.prefix = "sha256=";
  auto with_prefix = "sha256=" + std::string(rfc_sha256_hex);
  EXPECT_TRUE(check(hmac_of(h), make_request("/dlr", rfc_body, {{"X-Signature", with_prefix}})).ok);
  EXPECT_TRUE(failed_on(check(hmac_of(h), make_request("/dlr", rfc_body)), "hmac: missing signature"));
  EXPECT_TRUE(failed_on(check(hmac_of(h), make_request("/dlr", rfc_body, {{"X-Signature", rfc_sha256_hex}})),
                        "hmac: malformed signature"));
  EXPECT_TRUE(failed_on(check(hmac_of(h), make_request("/dlr", rfc_body, {{"X-Signature", "sha256=xyz"}})),
                        "hmac: malformed signature"));
  EXPECT_TRUE(failed_on(check(hmac_of(h), make_request("/dlr", rfc_body, {{"X-Signature", "sha256="}})), "hmac: "));
}

hmac_config timestamped() {
  hmac_config h;
  h.secrets = {"k1", "k2"};
  h.timestamp_header = "X-Timestamp";
  h.separator = ".";
  h.window = std::chrono::minutes(5);
  return h;
}

request timestamped_request(std::string_view secret, std::int64_t ts, std::string_view body = "status=delivered") {
  const auto ts_text = std::to_string(ts);
  const auto sig = test::to_hex(test::openssl_hmac("sha256", secret, ts_text + "." + std::string(body)));
  return make_request("/dlr", body, {{"X-Signature", sig}, {"X-Timestamp", ts_text}});
}

TEST(auth_hmac, a_timestamped_signature_passes_within_the_window_with_each_secret) {
  const auto now = test::now_seconds;
  EXPECT_TRUE(check(hmac_of(timestamped()), timestamped_request("k1", now)).ok);
  EXPECT_TRUE(check(hmac_of(timestamped()), timestamped_request("k2", now - 300)).ok);
  EXPECT_TRUE(check(hmac_of(timestamped()), timestamped_request("k2", now + 300)).ok);
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), timestamped_request("k3", now)), "hmac: wrong signature"));
}

TEST(auth_hmac, a_timestamp_outside_the_window_is_stale) {
  const auto now = test::now_seconds;
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), timestamped_request("k1", now - 301)), "hmac: stale timestamp"));
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), timestamped_request("k1", now + 301)), "hmac: stale timestamp"));
  auto narrow = timestamped();
  narrow.window = std::chrono::seconds(10);
  EXPECT_TRUE(failed_on(check(hmac_of(narrow), timestamped_request("k1", now - 11)), "hmac: stale timestamp"));
}

TEST(auth_hmac, the_timestamp_is_signed_and_required) {
  auto req = timestamped_request("k1", test::now_seconds);
  req.set("X-Timestamp", std::to_string(test::now_seconds + 1));
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), req), "hmac: wrong signature"));
  req.erase("X-Timestamp");
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), req), "hmac: missing timestamp"));
  // The body alone, without the timestamp, is not what is signed.
  auto body_only = test::to_hex(test::openssl_hmac("sha256", "k1", "status=delivered"));
  auto unsigned_ts = make_request("/dlr", "status=delivered",
                                  {{"X-Signature", body_only}, {"X-Timestamp", std::to_string(test::now_seconds)}});
  EXPECT_TRUE(failed_on(check(hmac_of(timestamped()), unsigned_ts), "hmac: wrong signature"));
}

}  // namespace
}  // namespace dlrd::auth
