// Absolute http and https URLs, as outbound webhooks are configured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlrd::net {

/// An absolute http or https URL, split for the client.
struct url {
  bool tls = false;            ///< https
  std::string host;            ///< lower-case name or IP literal (IPv6 without brackets)
  std::uint16_t port = 80;
  std::string target = "/";    ///< path and query, never empty

  bool operator==(const url&) const = default;
};

/// Parses "http[s]://host[:port][/path][?query]" (a fragment is dropped). Refuses other
/// schemes, user info ("user:pass@"), an empty host and a bad port; `error` says why.
std::optional<url> parse_url(std::string_view text, std::string& error);

}  // namespace dlrd::net
