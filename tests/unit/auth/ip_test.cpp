// The IP allowlist: IPv4, IPv6 and IPv4-mapped peers, and X-Forwarded-For behind trusted proxies.
#include <dlrd/auth/auth.hpp>

#include "unit/auth/support.hpp"

#include <gtest/gtest.h>

namespace dlrd::auth {
namespace {

using test::make_request;

auth_config allowlist(std::vector<std::string> trusted = {}) {
  auth_config c;
  c.ip = ip_config{{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::ffff:198.51.100.0/120"}, std::move(trusted)};
  return c;
}

bool allowed(const auth_config& c, std::string_view peer, std::initializer_list<std::string_view> forwarded = {}) {
  auto req = make_request("/dlr");
  for (auto f : forwarded) req.insert("X-Forwarded-For", f);
  auto v = test::check(c, req, {.peer = peer});
  if (!v.ok) {
    EXPECT_EQ(verifier::label_of(v), "ip") << v.reason;
  }
  return v.ok;
}

TEST(auth_ip, ipv4_peers_match_ipv4_ranges_and_single_addresses) {
  auto c = allowlist();
  EXPECT_TRUE(allowed(c, "10.0.0.1"));
  EXPECT_TRUE(allowed(c, "10.255.255.255"));
  EXPECT_TRUE(allowed(c, "192.0.2.7"));
  EXPECT_TRUE(allowed(c, "198.51.100.9"));
  EXPECT_FALSE(allowed(c, "11.0.0.1"));
  EXPECT_FALSE(allowed(c, "9.255.255.255"));
  EXPECT_FALSE(allowed(c, "192.0.2.8"));
  EXPECT_FALSE(allowed(c, "198.51.101.9"));
}

TEST(auth_ip, ipv6_peers_match_ipv6_ranges) {
  auto c = allowlist();
  EXPECT_TRUE(allowed(c, "2001:db8::1"));
  EXPECT_TRUE(allowed(c, "2001:db8:ffff:ffff::1"));
  EXPECT_TRUE(allowed(c, "2001:db8::1%eth0"));
  EXPECT_FALSE(allowed(c, "2001:db9::1"));
  EXPECT_FALSE(allowed(c, "::1"));
}

TEST(auth_ip, ipv4_mapped_ipv6_peers_match_ipv4_ranges) {
  auto c = allowlist();
  EXPECT_TRUE(allowed(c, "::ffff:10.1.2.3"));
  EXPECT_TRUE(allowed(c, "::ffff:192.0.2.7"));
  EXPECT_FALSE(allowed(c, "::ffff:11.1.2.3"));
  EXPECT_FALSE(allowed(c, "::10.1.2.3"));  // IPv4-compatible, not mapped: an IPv6 address
}

TEST(auth_ip, an_unreadable_peer_fails) {
  auto c = allowlist();
  EXPECT_FALSE(allowed(c, ""));
  EXPECT_FALSE(allowed(c, "10.0.0.300"));
}

TEST(auth_ip, a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored) {
  auto c = allowlist({"127.0.0.1/32", "172.16.0.0/12"});
  EXPECT_FALSE(allowed(c, "11.0.0.1", {"10.1.2.3"}));
  EXPECT_TRUE(allowed(c, "10.9.9.9", {"11.0.0.1"}));
  EXPECT_FALSE(allowed(allowlist(), "11.0.0.1", {"10.1.2.3"}));  // no trusted proxies at all
}

TEST(auth_ip, behind_a_trusted_proxy_the_right_most_untrusted_forwarded_address_is_the_client) {
  auto c = allowlist({"127.0.0.1/32", "172.16.0.0/12", "::1"});
  EXPECT_TRUE(allowed(c, "127.0.0.1", {"10.1.2.3"}));
  EXPECT_FALSE(allowed(c, "127.0.0.1", {"11.1.2.3"}));
  // The client prepends a forged entry; the proxy appends the real one.
  EXPECT_TRUE(allowed(c, "127.0.0.1", {"11.6.6.6, 10.1.2.3"}));
  EXPECT_FALSE(allowed(c, "127.0.0.1", {"10.1.2.3, 11.6.6.6"}));
  // Trusted hops on the way are skipped, across several headers too.
  EXPECT_TRUE(allowed(c, "::1", {"11.6.6.6, 10.1.2.3", "172.16.0.5,127.0.0.1"}));
  EXPECT_FALSE(allowed(c, "::ffff:127.0.0.1", {"10.1.2.3", "11.6.6.6", "172.16.0.5"}));
  EXPECT_TRUE(allowed(c, "127.0.0.1", {"2001:db8::5"}));
  EXPECT_TRUE(allowed(c, "127.0.0.1", {"[2001:db8::5]:443"}));
  EXPECT_TRUE(allowed(c, "127.0.0.1", {"10.1.2.3:5123"}));
}

TEST(auth_ip, a_trusted_proxy_without_forwarded_for_is_itself_the_client) {
  auto c = allowlist({"127.0.0.1/32"});
  EXPECT_FALSE(allowed(c, "127.0.0.1"));
  auto proxy_allowed = allowlist({"10.0.0.1"});
  EXPECT_TRUE(allowed(proxy_allowed, "10.0.0.1"));
}

TEST(auth_ip, a_malformed_forwarded_for_from_a_trusted_proxy_fails) {
  auto c = allowlist({"127.0.0.1/32"});
  EXPECT_FALSE(allowed(c, "127.0.0.1", {"10.1.2.3, unknown"}));
  EXPECT_FALSE(allowed(c, "127.0.0.1", {"[2001:db8::5"}));
}

}  // namespace
}  // namespace dlrd::auth
