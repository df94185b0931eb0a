// The SSRF guard: address ranges a webhook may not reach unless private addresses are allowed.
#include <utility>  // GCC 12 needs it before Boost 1.74's headers

#include <dlrd/net/ssrf.hpp>

#include "refusal.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace dlrd::net {

namespace asio = boost::asio;

namespace {

bool in_v4(std::uint32_t a, std::uint32_t net, int bits) {
  std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
  return (a & mask) == (net & mask);
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

std::optional<std::string> v4_refusal(std::uint32_t a) {
  struct range { std::uint32_t net; int bits; const char* why; };
  static constexpr std::array<range, 15> ranges{{
      {v4(0, 0, 0, 0), 8, "unspecified"},
      {v4(10, 0, 0, 0), 8, "private"},
      {v4(100, 64, 0, 0), 10, "carrier-grade NAT"},
      {v4(127, 0, 0, 0), 8, "loopback"},
      {v4(169, 254, 0, 0), 16, "link-local"},
      {v4(172, 16, 0, 0), 12, "private"},
      {v4(192, 0, 0, 0), 24, "reserved"},
      {v4(192, 0, 2, 0), 24, "documentation"},
      {v4(192, 88, 99, 0), 24, "reserved"},
      {v4(192, 168, 0, 0), 16, "private"},
      {v4(198, 18, 0, 0), 15, "benchmarking"},
      {v4(198, 51, 100, 0), 24, "documentation"},
      {v4(203, 0, 113, 0), 24, "documentation"},
      {v4(224, 0, 0, 0), 4, "multicast"},
      {v4(240, 0, 0, 0), 4, "reserved"},  // includes the broadcast address
  }};
  for (const auto& r : ranges) {
    if (in_v4(a, r.net, r.bits)) return std::string(r.why);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> refusal(const asio::ip::address& address) {
  if (address.is_v4()) return v4_refusal(address.to_v4().to_uint());
  auto b = address.to_v6().to_bytes();
  auto embedded_v4 = [&] {
    return v4(b[12], b[13], b[14], b[15]);
  };
  auto zero_prefix = [&](int n) { return std::all_of(b.begin(), b.begin() + n, [](auto x) { return x == 0; }); };
  if (zero_prefix(16)) return "unspecified";
  if (zero_prefix(15) && b[15] == 1) return "loopback";
  if (zero_prefix(10) && b[10] == 0xff && b[11] == 0xff) {  // ::ffff:a.b.c.d, IPv4-mapped
    auto why = v4_refusal(embedded_v4());
    return why ? std::optional<std::string>("IPv4-mapped " + *why) : std::nullopt;
  }
  if (zero_prefix(12)) return "IPv4-compatible (deprecated)";  // ::a.b.c.d
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b &&
      std::all_of(b.begin() + 4, b.begin() + 12, [](auto x) { return x == 0; })) {  // 64:ff9b::/96, NAT64
    auto why = v4_refusal(embedded_v4());
    return why ? std::optional<std::string>("NAT64 " + *why) : std::nullopt;
  }
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local";
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "site-local (deprecated)";
  if ((b[0] & 0xfe) == 0xfc) return "unique-local";
  if (b[0] == 0xff) return "multicast";
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return "documentation";
  return std::nullopt;
}

std::optional<std::string> address_refusal(std::string_view ip) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(std::string(ip), ec);
  if (ec) return "not an IP address";
  return refusal(address);
}

}  // namespace dlrd::net
