// The SSRF guard: which addresses are refused and why, and that the client applies it.
#include <dlrd/net/ssrf.hpp>

#include <dlrd/net/client.hpp>

#include <gtest/gtest.h>

namespace {

using dlrd::net::address_refusal;

TEST(net_ssrf, every_private_address_class_is_refused) {
  struct c { const char* ip; const char* why; };
  for (auto [ip, why] : std::initializer_list<c>{
           {"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"}, {"10.1.2.3", "private"},
           {"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"192.168.1.1", "private"},
           {"169.254.169.254", "link-local"}, {"100.64.0.1", "carrier-grade NAT"},
           {"100.127.255.254", "carrier-grade NAT"}, {"0.0.0.0", "unspecified"}, {"0.1.2.3", "unspecified"},
           {"224.0.0.1", "multicast"}, {"239.255.255.250", "multicast"}, {"255.255.255.255", "reserved"},
           {"::", "unspecified"}, {"::1", "loopback"}, {"fe80::1", "link-local"}, {"febf::1", "link-local"},
           {"fc00::1", "unique-local"}, {"fd12:3456::1", "unique-local"}, {"ff02::1", "multicast"},
           {"::ffff:127.0.0.1", "IPv4-mapped loopback"}, {"::ffff:10.0.0.1", "IPv4-mapped private"},
           {"::ffff:169.254.169.254", "IPv4-mapped link-local"}, {"64:ff9b::a00:1", "NAT64 private"},
           {"::127.0.0.1", "IPv4-compatible (deprecated)"}}) {
    auto r = address_refusal(ip);
    ASSERT_TRUE(r.has_value()) << ip;
    EXPECT_EQ(*r, why) << ip;
  }
}

TEST(net_ssrf, public_addresses_are_allowed) {
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "11.0.0.1", "2606:4700::1111",
                         "2a00:1450:4001:80b::200e", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_FALSE(address_refusal(ip).has_value()) << ip << ": " << address_refusal(ip).value_or("");
  }
}

TEST(net_ssrf, text_that_is_not_an_address_is_refused) {
  EXPECT_EQ(address_refusal("example.com").value_or(""), "not an IP address");
}

TEST(net_client, a_private_target_is_refused_before_any_connection) {
  dlrd::net::client c;
  dlrd::net::post_request req;
  req.url = "http://127.0.0.1:1/hook";
  auto r = c.post(req);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("refused"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("loopback"), std::string::npos) << r.error;
}

TEST(net_client, a_closed_port_is_an_error_not_an_exception) {
  dlrd::net::client c;
  dlrd::net::post_request req;
  req.url = "http://127.0.0.1:1/hook";
  req.allow_private = true;
  req.connect_timeout = std::chrono::milliseconds(500);
  auto r = c.post(req);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("connecting"), std::string::npos) << r.error;
}

}  // namespace
