// Shared-secret checks: token (path segment or query), HTTP Basic, bearer; every check runs,
// rotated secrets, failure reasons and their labels, constant-time comparison.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

using test::check;
using test::failed_on;
using test::make_request;

auth_config token_config_of(std::vector<std::string> values, std::string param = "token") {
  auth_config c;
  c.token = token_config{std::move(values), std::move(param)};
  return c;
}

TEST(auth_token, each_rotated_token_passes_in_the_path_segment_and_a_wrong_one_fails) {
  auto c = token_config_of({"new-secret-1", "old-secret-0"});
  auto req = make_request("/dlr/whatever");
  EXPECT_TRUE(check(c, req, {.path_token = "new-secret-1"}).ok);
  EXPECT_TRUE(check(c, req, {.path_token = "old-secret-0"}).ok);
  EXPECT_TRUE(failed_on(check(c, req, {.path_token = "new-secret-2"}), "token: wrong token"));
  EXPECT_TRUE(failed_on(check(c, req, {.path_token = "new-secret-"}), "token: wrong token"));
}

TEST(auth_token, each_rotated_token_passes_in_the_query_and_a_wrong_one_fails) {
  auto c = token_config_of({"new-secret-1", "old secret/0"}, "key");
  EXPECT_TRUE(check(c, make_request("/dlr?id=5&key=new-secret-1")).ok);
  EXPECT_TRUE(check(c, make_request("/dlr?key=old+secret%2F0&id=5")).ok);
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr?key=new-secret-2")), "token: wrong token"));
  // The configured parameter only: a right value under another name is not a token.
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr?token=new-secret-1")), "token: missing"));
}

TEST(auth_token, a_missing_or_empty_token_fails) {
  auto c = token_config_of({"s3cret"});
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr")), "token: missing"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr?token=")), "token: missing"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr?token=%zz")), "token: malformed query string"));
}

TEST(auth_token, the_path_segment_wins_over_the_query) {
  auto c = token_config_of({"s3cret"});
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr?token=s3cret"), {.path_token = "guess"}), "token: wrong token"));
}

constexpr std::string_view basic_smspm = "Basic c21zcG06b3BlbiBzZXNhbWU=";    // smspm:open sesame
constexpr std::string_view basic_old = "Basic c21zcG06b2xkOnBhc3M6d29yZA==";  // smspm:old:pass:word
constexpr std::string_view basic_wrong = "Basic c21zcG06b3BlbiBzZXNhbWY=";    // smspm:open sesamf
constexpr std::string_view basic_other_user = "Basic c21zcG46b3BlbiBzZXNhbWU=";  // smspn:open sesame

auth_config basic_config() {
  auth_config c;
  c.basic = {{"smspm", "open sesame"}, {"smspm", "old:pass:word"}};
  return c;
}

TEST(auth_basic, each_rotated_password_passes_and_a_wrong_one_fails) {
  auto c = basic_config();
  EXPECT_TRUE(check(c, make_request("/dlr", {}, {{"Authorization", basic_smspm}})).ok);
  EXPECT_TRUE(check(c, make_request("/dlr", {}, {{"Authorization", basic_old}})).ok);
  EXPECT_TRUE(check(c, make_request("/dlr", {}, {{"Authorization", "basic   c21zcG06b3BlbiBzZXNhbWU="}})).ok);
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", basic_wrong}})), "basic: wrong user or password"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", basic_other_user}})), "basic: wrong"));
}

TEST(auth_basic, missing_or_malformed_credentials_fail) {
  auto c = basic_config();
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr")), "basic: missing credentials"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Bearer open sesame"}})), "basic: missing"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Basic"}})), "basic: missing"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Basic smspm:open sesame"}})),
                        "basic: malformed credentials"));
}

TEST(auth_bearer, each_rotated_token_passes_and_a_wrong_or_missing_one_fails) {
  auth_config c;
  c.bearer = {"tok-A", "tok-B"};
  EXPECT_TRUE(check(c, make_request("/dlr", {}, {{"Authorization", "Bearer tok-A"}})).ok);
  EXPECT_TRUE(check(c, make_request("/dlr", {}, {{"Authorization", "bearer tok-B"}})).ok);
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Bearer tok-C"}})), "bearer: wrong token"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Bearer tok-"}})), "bearer: wrong token"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr")), "bearer: missing token"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Bearer "}})), "bearer: missing token"));
  EXPECT_TRUE(failed_on(check(c, make_request("/dlr", {}, {{"Authorization", "Basic dG9rLUE="}})), "bearer: missing"));
}

TEST(auth_verifier, every_configured_check_runs_and_every_failure_is_reported) {
  auth_config c = token_config_of({"s3cret"});
  c.bearer = {"tok-A"};
  auto both_wrong = check(c, make_request("/dlr?token=nope", {}, {{"Authorization", "Bearer nope"}}));
  EXPECT_FALSE(both_wrong.ok);
  EXPECT_EQ(both_wrong.reason, "token: wrong token; bearer: wrong token");
  EXPECT_EQ(verifier::label_of(both_wrong), "token");
  auto one_wrong = check(c, make_request("/dlr?token=s3cret", {}, {{"Authorization", "Bearer nope"}}));
  EXPECT_EQ(one_wrong.reason, "bearer: wrong token");
  EXPECT_EQ(verifier::label_of(one_wrong), "bearer");
  EXPECT_TRUE(check(c, make_request("/dlr?token=s3cret", {}, {{"Authorization", "Bearer tok-A"}})).ok);
}

TEST(auth_verifier, reasons_never_contain_the_presented_or_configured_secret) {
  auth_config c = token_config_of({"s3cret"});
  c.bearer = {"tok-A"};
  auto v = check(c, make_request("/dlr?token=s3cre", {}, {{"Authorization", "Bearer tok-AB"}}));
  EXPECT_EQ(v.reason.find("s3cre"), std::string::npos);
  EXPECT_EQ(v.reason.find("tok-A"), std::string::npos);
}

TEST(auth_verifier, an_empty_config_lets_everything_through) {
  verifier v{auth_config{}};
  EXPECT_TRUE(v.empty());
  auto req = make_request("/dlr");
  EXPECT_TRUE(v.check({req, {}, "203.0.113.7", test::at(test::now_seconds)}).ok);
  EXPECT_FALSE(verifier{token_config_of({"x"})}.empty());
}

TEST(auth_verifier, labels_come_from_a_fixed_set) {
  EXPECT_EQ(verifier::label_of({true, ""}), "");
  EXPECT_EQ(verifier::label_of({false, "ip: address not allowed"}), "ip");
  EXPECT_EQ(verifier::label_of({false, "telnyx: stale timestamp"}), "telnyx");
  EXPECT_EQ(verifier::label_of({false, "hmac: stale timestamp; ip: address not allowed"}), "hmac");
  EXPECT_EQ(verifier::label_of({false, "something else"}), "other");
}

TEST(auth_constant_time_equal, compares_contents_and_lengths) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_FALSE(constant_time_equal(std::string_view("a\0", 2), "a"));
}

}  // namespace
}  // namespace dlrd::auth
