// Address ranges for the IP allowlist, and the client address behind trusted proxies.
#include <utility>  // before Asio: GCC 12 with Boost 1.74
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <dlrd/text/ascii.hpp>

#include "detail.hpp"

#include <stdexcept>

namespace dlrd::auth::detail {

namespace asio_ip = boost::asio::ip;

namespace {

ip_address from_asio(const asio_ip::address& a) {
  ip_address out;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    auto v4 = asio_ip::make_address_v4(asio_ip::v4_mapped, a.to_v6()).to_bytes();
    std::copy(v4.begin(), v4.end(), out.bytes.begin() + 12);
    out.v4 = true;
  } else if (a.is_v4()) {
    auto v4 = a.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), out.bytes.begin() + 12);
    out.v4 = true;
  } else {
    out.bytes = a.to_v6().to_bytes();
  }
  return out;
}

/// An X-Forwarded-For entry: an address, "[v6]" or "[v6]:port", or "v4:port" as some
/// proxies write it.
std::optional<ip_address> parse_forwarded(std::string_view entry) {
  entry = text::trim(entry);
  if (entry.starts_with('[')) {
    auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return parse_address(entry.substr(1, close - 1));
  }
  if (auto colon = entry.find(':'); colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    entry = entry.substr(0, colon);
  }
  return parse_address(entry);
}

}  // namespace

std::optional<ip_address> parse_address(std::string_view text) {
  text = text::trim(text);
  if (auto zone = text.find('%'); zone != std::string_view::npos) text = text.substr(0, zone);
  boost::system::error_code ec;
  auto a = asio_ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return from_asio(a);
}

std::optional<ip_network> parse_network(std::string_view text) {
  text = text::trim(text);
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    auto a = parse_address(text);
    if (!a) return std::nullopt;
    return ip_network{*a, a->v4 ? 32u : 128u};
  }
  boost::system::error_code ec;
  std::string s(text);
  if (text.find(':') == std::string_view::npos) {
    auto n = asio_ip::make_network_v4(s, ec);
    if (ec) return std::nullopt;
    return ip_network{from_asio(n.network()), n.prefix_length()};
  }
  auto n = asio_ip::make_network_v6(s, ec);
  if (ec) return std::nullopt;
  auto base = from_asio(n.network());
  unsigned prefix = n.prefix_length();
  // "::ffff:10.0.0.0/104" is an IPv4 range written as IPv6; match it as one.
  if (base.v4 && prefix >= 96) {
    prefix -= 96;
  } else if (base.v4) {
    base = ip_address{n.network().to_bytes(), false};
  }
  return ip_network{base, prefix};
}

std::vector<ip_network> parse_networks(const std::vector<std::string>& texts) {
  std::vector<ip_network> out;
  out.reserve(texts.size());
  for (const auto& t : texts) {
    auto n = parse_network(t);
    if (!n) throw std::invalid_argument("not an address range: '" + t + "'");
    out.push_back(*n);
  }
  return out;
}

bool contains(const std::vector<ip_network>& networks, const ip_address& address) {
  for (const auto& n : networks) {
    if (n.base.v4 != address.v4) continue;
    const std::size_t first = n.base.v4 ? 12 : 0;
    unsigned bits = n.prefix;
    bool match = true;
    for (std::size_t i = first; i < 16 && bits > 0 && match; ++i) {
      const unsigned take = bits >= 8 ? 8 : bits;
      const auto mask = static_cast<std::uint8_t>(0xff00u >> take);
      match = (n.base.bytes[i] & mask) == (address.bytes[i] & mask);
      bits -= take;
    }
    if (match) return true;
  }
  return false;
}

std::optional<ip_address> client_address(const ip_address& peer, const std::vector<ip_network>& trusted,
                                          const std::vector<std::string_view>& forwarded_for) {
  if (!contains(trusted, peer)) return peer;
  std::vector<std::string_view> hops;
  for (auto header : forwarded_for) {
    while (!header.empty()) {
      auto comma = header.find(',');
      auto entry = text::trim(header.substr(0, comma));
      if (!entry.empty()) hops.push_back(entry);
      header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    }
  }
  if (hops.empty()) return peer;
  std::optional<ip_address> hop;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    hop = parse_forwarded(*it);
    if (!hop) return std::nullopt;
    if (!contains(trusted, *hop)) return hop;
  }
  return hop;  // every hop is a trusted proxy: the left-most is the best we know
}

}  // namespace dlrd::auth::detail
