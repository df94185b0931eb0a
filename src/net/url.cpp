// Absolute http and https URLs: scheme, host, port and target, checked for a webhook.
#include <dlrd/net/url.hpp>

#include <dlrd/text/ascii.hpp>

#include <cctype>
#include <charconv>

namespace dlrd::net {

std::optional<url> parse_url(std::string_view text, std::string& error) {
  url u;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) {
    error = "expected an absolute http:// or https:// URL";
    return std::nullopt;
  }
  auto scheme = text::lower(text.substr(0, scheme_end));
  if (scheme == "https") u.tls = true;
  else if (scheme != "http") {
    error = "unsupported URL scheme '" + scheme + "' (use http or https)";
    return std::nullopt;
  }
  u.port = u.tls ? 443 : 80;
  auto rest = text.substr(scheme_end + 3);
  if (auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  auto authority_end = rest.find_first_of("/?");
  auto authority = rest.substr(0, authority_end);
  std::string target(authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end));
  if (target.empty() || target.front() == '?') target.insert(target.begin(), '/');
  u.target = target;
  if (authority.find('@') != std::string_view::npos) {
    error = "user info in the URL is not supported (use headers or bearer_token)";
    return std::nullopt;
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unterminated IPv6 address in the URL";
      return std::nullopt;
    }
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "unexpected text after the IPv6 address";
        return std::nullopt;
      }
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) {
    error = "the URL has no host";
    return std::nullopt;
  }
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      error = "the URL's host contains spaces or control characters";
      return std::nullopt;
    }
  }
  for (char c : u.target) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c))) {
      error = "the URL's path contains spaces or control characters";
      return std::nullopt;
    }
  }
  if (!port.empty() || authority.ends_with(':')) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535) {
      error = "bad port '" + std::string(port) + "' in the URL";
      return std::nullopt;
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  u.host = text::lower(host);
  return u;
}

}  // namespace dlrd::net
