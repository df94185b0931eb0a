// `dlrd endpoints`: see endpoints_cmd.hpp.
#include "endpoints_cmd.hpp"

#include <dlrd/text/url.hpp>

#include <algorithm>
#include <cstdio>

namespace dlrd::app {

namespace {

std::string listen_base(const http::listen_config& listen) {
  std::string host = listen.address;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6 literal
  return std::string(listen.tls ? "https://" : "http://") + host + ":" + std::to_string(listen.port);
}

std::string token_text(const auth::auth_config& auth, bool reveal) {
  if (!reveal || !auth.token || auth.token->values.empty()) return "{token}";
  return text::percent_encode(auth.token->values.front());
}

}  // namespace

std::string describe_auth(const auth::auth_config& auth, bool token_in_path) {
  std::vector<std::string> checks;
  if (auth.token) checks.push_back(token_in_path ? "token (path)" : "token (query " + auth.token->query_param + ")");
  if (!auth.basic.empty()) checks.push_back("basic (" + std::to_string(auth.basic.size()) + " user(s))");
  if (!auth.bearer.empty()) checks.push_back("bearer");
  if (auth.hmac) checks.push_back("hmac-" + auth.hmac->algorithm + " (" + auth.hmac->header + ")");
  if (auth.twilio) checks.push_back("twilio signature");
  if (auth.telnyx) checks.push_back("telnyx signature");
  if (auth.standard_webhooks) checks.push_back("standard webhooks signature");
  if (auth.ip) checks.push_back("ip allowlist (" + std::to_string(auth.ip->allow.size()) + ")");
  if (checks.empty()) return "none";
  std::string out;
  for (const auto& c : checks) out += (out.empty() ? "" : ", ") + c;
  return out;
}

std::string describe_endpoints(const daemon_config& config, const endpoints_options& options) {
  std::string base = options.base_url.empty() ? listen_base(config.listen) : options.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();

  struct line {
    std::string profile, url, auth;
  };
  std::vector<line> lines;
  bool placeholder = false;
  for (const auto& w : config.webhooks) {
    const bool in_path = w.path.find("{token}") != std::string::npos;
    // Twilio signs the URL it called: its public base (required, never with a path) is the
    // one to paste unless --base-url says otherwise.
    const std::string& route_base =
        w.auth.twilio && options.base_url.empty() ? w.auth.twilio->public_base_url : base;
    std::string url = route_base + w.path;
    const std::string token = token_text(w.auth, options.reveal);
    if (in_path) url.replace(url.find("{token}"), 7, token);
    else if (w.auth.token) url += "?" + w.auth.token->query_param + "=" + token;
    placeholder = placeholder || (w.auth.token && token == "{token}");
    lines.push_back({w.profile, url, describe_auth(w.auth, in_path)});
  }
  lines.push_back({"(api)", base + "/v1/... and /dashboard", describe_auth(config.api_auth, false)});

  std::size_t profile_width = 7, url_width = 3;
  for (const auto& l : lines) {
    profile_width = std::max(profile_width, l.profile.size());
    url_width = std::max(url_width, l.url.size());
  }
  std::string out = "# Paste each URL into its gateway's delivery report (callback) field.\n";
  if (options.base_url.empty()) {
    out += "# " + base + " is the listen address; behind a proxy, give --base-url https://your.host\n";
  }
  if (placeholder) out += "# {token}: one of the route's auth.token values, URL-encoded (--reveal prints it).\n";
  auto pad = [](std::string s, std::size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  out += pad("PROFILE", profile_width) + "  " + pad("URL", url_width) + "  AUTH\n";
  for (const auto& l : lines) out += pad(l.profile, profile_width) + "  " + pad(l.url, url_width) + "  " + l.auth + "\n";
  return out;
}

}  // namespace dlrd::app
