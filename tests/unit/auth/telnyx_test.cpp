// Telnyx's Ed25519 webhook signature over "<timestamp>|<body>", with the key pairs of
// RFC 8032 §7.1 (TEST 1, TEST 2, TEST 3) signing in the test through OpenSSL.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace dlrd::auth {
namespace {

using test::check;
using test::failed_on;
using test::make_request;

constexpr std::string_view test1_secret = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view test1_public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr std::string_view test1_empty_message_signature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
constexpr std::string_view test2_secret = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
constexpr std::string_view test2_public = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
constexpr std::string_view test3_secret = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";

constexpr std::string_view body =
    R"({"data":{"event_type":"message.finalized","payload":{"id":"40385f64-5717-4562-b3fc-2c963f66afa6","to":[{"status":"delivered"}]}}})";

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using pkey = std::unique_ptr<EVP_PKEY, pkey_free>;

pkey private_key(std::string_view secret_hex) {
  auto raw = test::from_hex(secret_hex);
  return pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(raw.data()),
                                           raw.size()));
}

std::string sign(std::string_view secret_hex, std::string_view message) {
  auto key = private_key(secret_hex);
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  return sig;
}

auth_config telnyx_of(std::vector<std::string_view> public_hex) {
  auth_config c;
  c.telnyx.emplace();
  for (auto h : public_hex) c.telnyx->public_keys.push_back(test::base64(test::from_hex(h)));
  return c;
}

request telnyx_request(std::string_view timestamp, std::string_view payload, std::string_view signature_b64) {
  return make_request("/telnyx", payload,
                      {{"Content-Type", "application/json"},
                       {"telnyx-signature-ed25519", signature_b64},
                       {"telnyx-timestamp", timestamp}});
}

request signed_request(std::string_view secret_hex, std::int64_t ts, std::string_view payload = body) {
  const auto ts_text = std::to_string(ts);
  return telnyx_request(ts_text, payload, test::base64(sign(secret_hex, ts_text + "|" + std::string(payload))));
}

TEST(auth_telnyx, the_rfc_8032_key_pairs_are_the_ones_openssl_uses) {
  for (auto [secret, expected] : {std::pair{test1_secret, test1_public}, std::pair{test2_secret, test2_public}}) {
    auto key = private_key(secret);
    ASSERT_TRUE(key);
    std::string pub(32, '\0');
    std::size_t len = pub.size();
    ASSERT_EQ(EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pub.data()), &len), 1);
    EXPECT_EQ(test::to_hex(pub), expected);
  }
  // RFC 8032 TEST 1 signs the empty message: Ed25519 is deterministic, so the test signer must agree.
  EXPECT_EQ(test::to_hex(sign(test1_secret, "")), test1_empty_message_signature);
}

TEST(auth_telnyx, a_signature_from_each_configured_key_passes) {
  auto c = telnyx_of({test1_public, test2_public});
  EXPECT_TRUE(check(c, signed_request(test1_secret, test::now_seconds)).ok);
  EXPECT_TRUE(check(c, signed_request(test2_secret, test::now_seconds)).ok);
  EXPECT_TRUE(check(telnyx_of({test1_public}), signed_request(test1_secret, test::now_seconds)).ok);
}

TEST(auth_telnyx, a_signature_from_another_key_fails) {
  EXPECT_TRUE(failed_on(check(telnyx_of({test1_public, test2_public}), signed_request(test3_secret, test::now_seconds)),
                        "telnyx: wrong signature"));
  EXPECT_TRUE(failed_on(check(telnyx_of({test1_public}), signed_request(test2_secret, test::now_seconds)),
                        "telnyx: wrong signature"));
}

TEST(auth_telnyx, a_single_byte_change_of_body_timestamp_or_signature_fails) {
  auto c = telnyx_of({test1_public});
  const auto ts = std::to_string(test::now_seconds);
  const auto sig = sign(test1_secret, ts + "|" + std::string(body));
  ASSERT_TRUE(check(c, telnyx_request(ts, body, test::base64(sig))).ok);

  for (std::size_t i = 0; i < body.size(); ++i) {
    std::string changed(body);
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    EXPECT_TRUE(failed_on(check(c, telnyx_request(ts, changed, test::base64(sig))), "telnyx: wrong signature")) << i;
  }
  for (std::size_t i = 0; i < ts.size(); ++i) {
    std::string changed = ts;
    changed[i] = changed[i] == '0' ? '1' : '0';
    EXPECT_TRUE(failed_on(check(c, telnyx_request(changed, body, test::base64(sig))), "telnyx: wrong signature")) << i;
  }
  for (std::size_t i = 0; i < sig.size(); ++i) {
    std::string changed = sig;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    EXPECT_TRUE(failed_on(check(c, telnyx_request(ts, body, test::base64(changed))), "telnyx: wrong signature")) << i;
  }
}

TEST(auth_telnyx, a_timestamp_outside_the_window_fails_even_when_signed) {
  auto c = telnyx_of({test1_public});
  c.telnyx->window = std::chrono::minutes(5);
  EXPECT_TRUE(check(c, signed_request(test1_secret, test::now_seconds - 300)).ok);
  EXPECT_TRUE(check(c, signed_request(test1_secret, test::now_seconds + 300)).ok);
  EXPECT_TRUE(failed_on(check(c, signed_request(test1_secret, test::now_seconds - 301)), "telnyx: stale timestamp"));
  EXPECT_TRUE(failed_on(check(c, signed_request(test1_secret, test::now_seconds + 301)), "telnyx: stale timestamp"));
  EXPECT_TRUE(failed_on(check(c, signed_request(test1_secret, test::now_seconds - 86'400)), "telnyx: stale timestamp"));
}

TEST(auth_telnyx, missing_or_malformed_headers_fail) {
  auto c = telnyx_of({test1_public});
  auto req = signed_request(test1_secret, test::now_seconds);
  auto no_ts = req;
  no_ts.erase("telnyx-timestamp");
  EXPECT_TRUE(failed_on(check(c, no_ts), "telnyx: missing timestamp"));
  auto no_sig = req;
  no_sig.erase("telnyx-signature-ed25519");
  EXPECT_TRUE(failed_on(check(c, no_sig), "telnyx: missing signature"));
  auto short_sig = req;
  short_sig.set("telnyx-signature-ed25519", test::base64(std::string(63, 'x')));
  EXPECT_TRUE(failed_on(check(c, short_sig), "telnyx: malformed signature"));
  const std::string odd_ts = "17e8";
  EXPECT_TRUE(failed_on(check(c, telnyx_request(odd_ts, body, test::base64(sign(test1_secret, odd_ts + "|" + std::string(body))))),
                        "telnyx: malformed timestamp"));
}

}  // namespace
}  // namespace dlrd::auth
