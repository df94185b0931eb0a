// URL parsing for outbound webhooks: how URLs are split, and which are refused and why.
#include <dlrd/net/url.hpp>

#include <gtest/gtest.h>

namespace {

TEST(net_url, http_and_https_urls_are_split_into_host_port_and_target) {
  std::string err;
  auto u = dlrd::net::parse_url("https://Hooks.Slack.com/services/T0/B0/xyz?a=1#frag", err);
  ASSERT_TRUE(u) << err;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "hooks.slack.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/services/T0/B0/xyz?a=1");
  u = dlrd::net::parse_url("http://[::1]:8081", err);
  ASSERT_TRUE(u) << err;
  EXPECT_FALSE(u->tls);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 8081);
  EXPECT_EQ(u->target, "/");
  u = dlrd::net::parse_url("http://127.0.0.1:9000?x=1", err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->target, "/?x=1");
}

TEST(net_url, bad_urls_are_refused_with_a_reason) {
  for (const char* bad : {"ftp://example.com/", "example.com/hook", "https://", "https://user:pw@example.com/",
                          "http://example.com:0/", "http://example.com:99999/", "http://example.com:x/",
                          "http://exa mple.com/", "http://[::1/"}) {
    std::string err;
    EXPECT_FALSE(dlrd::net::parse_url(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

}  // namespace
