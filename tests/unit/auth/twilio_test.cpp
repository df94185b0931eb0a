// Twilio's X-Twilio-Signature, checked against the example in Twilio's webhook security
// documentation (https://www.twilio.com/docs/usage/webhooks/webhooks-security) and the
// fixture of twilio-node's request validator tests.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

using test::check;
using test::failed_on;
using test::make_request;

// The documented example: auth token 12345, URL https://mycompany.com/myapp.php?foo=1&bar=2,
// POST parameters CallSid, Caller, Digits, From, To.
constexpr std::string_view doc_token = "12345";
constexpr std::string_view doc_base_url = "https://mycompany.com";
constexpr std::string_view doc_target = "/myapp.php?foo=1&bar=2";
// The parameters as a gateway would send them: URL-encoded, in no particular order.
constexpr std::string_view doc_body =
    "To=%2B18005551212&From=%2B14158675310&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%2B14158675310";
constexpr std::string_view doc_signature = "GvWf1cFY/Q7PnoempGyD5oXAezc=";
// twilio-node's fixture: the same request with Caller and From +14158675309.
constexpr std::string_view node_body =
    "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
constexpr std::string_view node_signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
constexpr std::string_view form = "application/x-www-form-urlencoded";

auth_config twilio_of(std::string_view base_url, std::vector<std::string> tokens = {"rotated-in", std::string(doc_token)}) {
  auth_config c;
  c.twilio = twilio_config{std::move(tokens), std::string(base_url)};
  return c;
}

request twilio_request(std::string_view target, std::string_view body, std::string_view signature) {
  return make_request(target, body, {{"Content-Type", form}, {"X-Twilio-Signature", signature}});
}

TEST(auth_twilio, the_documented_example_passes) {
  EXPECT_TRUE(check(twilio_of(doc_base_url), twilio_request(doc_target, doc_body, doc_signature)).ok);
  EXPECT_TRUE(check(twilio_of(doc_base_url), twilio_request(doc_target, node_body, node_signature)).ok);
  auto with_charset = make_request(doc_target, doc_body,
                                   {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                                    {"X-Twilio-Signature", doc_signature}});
  EXPECT_TRUE(check(twilio_of(doc_base_url), with_charset).ok);
}

TEST(auth_twilio, each_rotated_auth_token_passes_and_a_wrong_one_fails) {
  EXPECT_TRUE(check(twilio_of(doc_base_url, {"12345", "other"}), twilio_request(doc_target, doc_body, doc_signature)).ok);
  EXPECT_TRUE(check(twilio_of(doc_base_url, {"other", "12345"}), twilio_request(doc_target, doc_body, doc_signature)).ok);
  EXPECT_TRUE(failed_on(check(twilio_of(doc_base_url, {"12346", "other"}), twilio_request(doc_target, doc_body, doc_signature)),
                        "twilio: wrong signature"));
}

TEST(auth_twilio, any_single_byte_change_of_the_url_fails) {
  const std::string url = std::string(doc_base_url) + std::string(doc_target);
  for (std::size_t i = 0; i < url.size(); ++i) {
    std::string changed = url;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    const std::string base = changed.substr(0, doc_base_url.size());
    const std::string target = changed.substr(doc_base_url.size());
    EXPECT_FALSE(check(twilio_of(base), twilio_request(target, doc_body, doc_signature)).ok) << changed;
  }
}

TEST(auth_twilio, any_single_byte_change_of_a_parameter_fails) {
  const std::string body(doc_body);
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (!std::isalnum(static_cast<unsigned char>(body[i]))) continue;
    std::string changed = body;
    changed[i] = changed[i] == '1' ? '2' : changed[i] == 'A' ? 'B' : changed[i] == 'a' ? 'b' : '1';
    EXPECT_FALSE(check(twilio_of(doc_base_url), twilio_request(doc_target, changed, doc_signature)).ok) << changed;
  }
  // A parameter added or dropped changes the signed text too.
  EXPECT_FALSE(check(twilio_of(doc_base_url), twilio_request(doc_target, std::string(doc_body) + "&X=1", doc_signature)).ok);
}

TEST(auth_twilio, any_single_byte_change_of_the_header_fails) {
  const std::string sig(doc_signature);
  for (std::size_t i = 0; i < sig.size(); ++i) {
    if (sig[i] == '=') continue;
    std::string changed = sig;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_TRUE(failed_on(check(twilio_of(doc_base_url), twilio_request(doc_target, doc_body, changed)), "twilio: ")) << changed;
  }
}

TEST(auth_twilio, a_missing_or_malformed_signature_fails) {
  EXPECT_TRUE(failed_on(check(twilio_of(doc_base_url), make_request(doc_target, doc_body, {{"Content-Type", form}})),
                        "twilio: missing signature"));
  EXPECT_TRUE(failed_on(check(twilio_of(doc_base_url), twilio_request(doc_target, doc_body, "not base64!")),
                        "twilio: malformed signature"));
  EXPECT_TRUE(failed_on(check(twilio_of(doc_base_url), twilio_request(doc_target, doc_body, "GvWf1cFY")),
                        "twilio: malformed signature"));
}

TEST(auth_twilio, a_body_that_is_not_a_form_is_not_signed) {
  // A GET carries its parameters in the URL only; the signed text is the URL.
  const std::string url = "https://mycompany.com/status?MessageSid=SM1&MessageStatus=delivered";
  const auto sig = test::base64(test::openssl_hmac("sha1", "12345", url));
  auto req = make_request("/status?MessageSid=SM1&MessageStatus=delivered", {}, {{"X-Twilio-Signature", sig}});
  EXPECT_TRUE(check(twilio_of(doc_base_url), req).ok);
}

}  // namespace
}  // namespace dlrd::auth
