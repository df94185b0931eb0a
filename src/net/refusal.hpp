// The SSRF guard on an address the client resolved. Internal to src/net.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <optional>
#include <string>

namespace dlrd::net {

/// Why the client may not connect to `address` (see address_refusal); std::nullopt when it may.
std::optional<std::string> refusal(const boost::asio::ip::address& address);

}  // namespace dlrd::net
