// The SSRF guard: which addresses an outbound webhook may not connect to, and why.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dlrd::net {

/// Why a webhook may not connect to `ip` unless private addresses are allowed (SSRF guard):
/// "loopback", "private", "link-local", "unique-local", "carrier-grade NAT", "unspecified",
/// "multicast", "reserved", "documentation", ...; IPv4-mapped, IPv4-compatible and NAT64
/// IPv6 addresses are judged by their IPv4 address. std::nullopt for a public address,
/// and "not an IP address" for text that does not parse.
std::optional<std::string> address_refusal(std::string_view ip);

}  // namespace dlrd::net
