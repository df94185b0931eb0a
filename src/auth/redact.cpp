// Request-targets with their secrets blanked, for logs and metrics.
#include <dlrd/auth/auth.hpp>

#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

namespace dlrd::auth {

namespace {

/// Parameter names that carry secrets on common gateways, compared case-insensitively.
constexpr std::string_view secret_names[] = {"token",     "key",       "api_key",      "apikey",    "secret",
                                             "signature", "password",  "access_token", "auth_token"};

bool is_secret(std::string_view raw_name, const auth_config& config) {
  auto decoded = text::percent_decode(raw_name, true);
  std::string_view name = decoded ? std::string_view(*decoded) : raw_name;
  if (config.token && text::iequals(name, config.token->query_param)) return true;
  for (auto s : secret_names) {
    if (text::iequals(name, s)) return true;
  }
  return false;
}

}  // namespace

std::string redact_target(std::string_view target, const auth_config& config, int token_segment) {
  std::string out;
  out.reserve(target.size() + 16);
  std::string_view path = text::path_of(target);
  if (token_segment < 0) {
    out.append(path);
  } else {
    if (path.starts_with('/')) {
      out.push_back('/');
      path.remove_prefix(1);
    }
    for (int i = 0;; ++i) {
      auto slash = path.find('/');
      auto segment = path.substr(0, slash);
      out.append(i == token_segment && !segment.empty() ? std::string_view("REDACTED") : segment);
      if (slash == std::string_view::npos) break;
      out.push_back('/');
      path.remove_prefix(slash + 1);
    }
  }
  if (target.size() == text::path_of(target).size()) return out;
  out.push_back('?');
  std::string_view query = text::query_of(target);
  for (bool first = true; ; first = false) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    if (!first) out.push_back('&');
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && is_secret(pair.substr(0, eq), config)) {
      out.append(pair.substr(0, eq + 1)).append("REDACTED");
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace dlrd::auth
