// Targets for logs and metrics: secret query parameters and the path token are blanked.
#include <dlrd/auth/auth.hpp>

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

TEST(auth_redact_target, the_configured_token_parameter_is_redacted) {
  auth_config c;
  c.token = token_config{{"s3cret"}, "t"};
  EXPECT_EQ(redact_target("/dlr?id=5&t=s3cret&status=ok", c), "/dlr?id=5&t=REDACTED&status=ok");
  EXPECT_EQ(redact_target("/dlr?T=s3cret", c), "/dlr?T=REDACTED");
}

TEST(auth_redact_target, common_secret_parameter_names_are_redacted_whatever_the_config) {
  const auth_config none;
  EXPECT_EQ(redact_target("/dlr?token=a&key=b&api_key=c&apikey=d&secret=e&signature=f&password=g&id=h", none),
            "/dlr?token=REDACTED&key=REDACTED&api_key=REDACTED&apikey=REDACTED&secret=REDACTED&signature=REDACTED"
            "&password=REDACTED&id=h");
  EXPECT_EQ(redact_target("/dlr?apiKey=x&%74oken=y", none), "/dlr?apiKey=REDACTED&%74oken=REDACTED");
  EXPECT_EQ(redact_target("/dlr?token&id=1&&", none), "/dlr?token&id=1&&");
  EXPECT_EQ(redact_target("/dlr?monkey=1", none), "/dlr?monkey=1");
}

TEST(auth_redact_target, the_path_token_segment_is_redacted) {
  const auth_config none;
  EXPECT_EQ(redact_target("/dlr/s3cret", none, 1), "/dlr/REDACTED");
  EXPECT_EQ(redact_target("/dlr/s3cret/smspm?id=1&token=x", none, 1), "/dlr/REDACTED/smspm?id=1&token=REDACTED");
  EXPECT_EQ(redact_target("/s3cret/dlr", none, 0), "/REDACTED/dlr");
  EXPECT_EQ(redact_target("/dlr", none, 1), "/dlr");
  EXPECT_EQ(redact_target("/dlr/s3cret", none), "/dlr/s3cret");
}

TEST(auth_redact_target, targets_without_secrets_are_unchanged) {
  const auth_config none;
  EXPECT_EQ(redact_target("/dlr", none), "/dlr");
  EXPECT_EQ(redact_target("/dlr?", none), "/dlr?");
  EXPECT_EQ(redact_target("/dlr?a=1&b=2", none), "/dlr?a=1&b=2");
  EXPECT_EQ(redact_target("", none), "");
}

}  // namespace
}  // namespace dlrd::auth
