// Building blocks of the auth checks, shared by the config parser, the verifier and the
// tests: encodings, keyed digests, Ed25519 and address ranges. Internal to src/auth.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::auth::detail {

// --- encodings (encoding.cpp) ---

/// Standard base64 (RFC 4648 §4), padding optional; std::nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
/// Hexadecimal, either case, even length; std::nullopt otherwise.
std::optional<std::string> hex_decode(std::string_view text);
/// A Standard Webhooks secret's key bytes: "whsec_<base64>" (the prefix optional, as the
/// spec's reference libraries take it); std::nullopt when not base64 or empty.
std::optional<std::string> standard_webhooks_key(std::string_view secret);

// --- digests and signatures (signatures.cpp) ---

/// "sha1" | "sha256" | "sha512" (the names hmac_config::algorithm accepts).
bool known_hmac_algorithm(std::string_view algorithm);
/// HMAC of the concatenation of `parts`, raw bytes; std::nullopt on an unknown algorithm or
/// an OpenSSL failure, which every caller treats as a refusal. Thread-safe.
std::optional<std::string> hmac(std::string_view algorithm, std::string_view key,
                                std::initializer_list<std::string_view> parts);
/// SHA-256 of `data`, raw bytes; std::nullopt on an OpenSSL failure. Thread-safe.
std::optional<std::string> sha256(std::string_view data);
/// Test seam: when positive, counted down by each hmac() and sha256() call on this thread;
/// the call that brings it to 0 fails as on an OpenSSL error.
inline thread_local int digest_failure_at = 0;

struct pkey_free {
  void operator()(EVP_PKEY* k) const;
};
using ed25519_key = std::unique_ptr<EVP_PKEY, pkey_free>;
/// A public key from its 32 raw bytes, base64 encoded as Telnyx shows it; nullptr when
/// `base64` is not that.
ed25519_key ed25519_public_key(std::string_view base64);
/// Whether `signature` (64 raw bytes) signs `message` under `key`. Thread-safe.
bool ed25519_verify(const ed25519_key& key, std::string_view signature, std::string_view message);

// --- addresses (ip.cpp) ---

/// An IP address as 16 bytes; IPv4 (and IPv4-mapped IPv6) as the last 4 bytes with v4 set.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool v4 = false;
};
/// A textual IPv4 or IPv6 address (a zone "%eth0" is ignored); std::nullopt when malformed.
std::optional<ip_address> parse_address(std::string_view text);

struct ip_network {
  ip_address base;
  unsigned prefix = 0;
};
/// "10.0.0.0/8", "2001:db8::/32", or a bare address (a single host); std::nullopt when malformed.
std::optional<ip_network> parse_network(std::string_view text);

/// Parses every entry or throws std::invalid_argument naming the bad one.
std::vector<ip_network> parse_networks(const std::vector<std::string>& texts);
bool contains(const std::vector<ip_network>& networks, const ip_address& address);

/// The address the request came from: the TCP peer, or, when the peer is a trusted proxy,
/// the right-most X-Forwarded-For entry that is not itself a trusted proxy (the left-most
/// when all are). `forwarded_for` holds every X-Forwarded-For header in order. std::nullopt
/// when an address that must be read is malformed.
std::optional<ip_address> client_address(const ip_address& peer, const std::vector<ip_network>& trusted,
                                          const std::vector<std::string_view>& forwarded_for);

}  // namespace dlrd::auth::detail
