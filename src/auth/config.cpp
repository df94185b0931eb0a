// The `auth` mapping of an endpoint: which checks run and with which secrets.
#include <dlrd/auth/auth.hpp>

#include "detail.hpp"

#include <fstream>
#include <sstream>

namespace dlrd::auth {

namespace {

/// A rotation list of secrets: `key` (a list, each item ${ENV} expanded) plus `key_files`
/// (a list of files holding one secret each, trailing newline removed). Reports an empty
/// secret, and an empty list when `required`.
void read_secrets(config::section& s, std::string_view key, std::vector<std::string>& out, bool required) {
  const std::string files_key = std::string(key) + "_files";
  std::vector<std::string> values;
  std::vector<std::string> files;
  s.read_list(key, values);
  s.read_list(files_key, files);
  std::vector<std::string> secrets;
  for (const auto& v : values) {
    std::string err;
    auto expanded = config::expand_env(v, err);
    if (!expanded) {
      s.error(key, err);
    } else if (expanded->empty()) {
      s.error(key, "a secret is empty (an environment variable set to \"\"?)");
    } else {
      secrets.push_back(std::move(*expanded));
    }
  }
  for (const auto& path : files) {
    std::ifstream in(path);
    if (!in) {
      s.error(files_key, "cannot read '" + path + "'");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string secret = ss.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) s.error(files_key, "'" + path + "' is empty");
    else secrets.push_back(std::move(secret));
  }
  if (required && secrets.empty() && values.empty() && files.empty()) {
    s.error(key, "needs at least one secret (" + std::string(key) + " or " + files_key + ")");
  }
  if (!values.empty() || !files.empty()) out = std::move(secrets);
}

void parse_token(config::section& s, token_config& out) {
  read_secrets(s, "values", out.values, true);
  s.read("query_param", out.query_param);
  if (out.query_param.empty()) s.error("query_param", "must not be empty");
}

void parse_basic(std::vector<config::section>& users, std::vector<basic_user>& out) {
  out.clear();
  for (auto& u : users) {
    basic_user b;
    u.read("user", b.user);
    u.read_secret("password", b.password);
    if (b.user.empty()) u.error("user", "is required");
    else if (b.user.find(':') != std::string::npos) u.error("user", "must not contain ':' (RFC 7617)");
    if (b.password.empty()) u.error("password", "is required (password or password_file)");
    u.finish();
    out.push_back(std::move(b));
  }
}

void parse_hmac(config::section& s, hmac_config& out) {
  s.read("header", out.header);
  if (out.header.empty()) s.error("header", "must not be empty");
  s.read_choice("algorithm", out.algorithm, {"sha1", "sha256", "sha512"});
  s.read_choice("encoding", out.encoding, {"hex", "base64"});
  s.read("prefix", out.prefix);
  read_secrets(s, "secrets", out.secrets, true);
  s.read("timestamp_header", out.timestamp_header);
  s.read("separator", out.separator);
  s.read_duration("window", out.window, std::chrono::seconds(1));
}

/// "http(s)://host[:port]": the signed URL is this followed by the request-target.
bool valid_base_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) rest = url.substr(8);
  else if (url.starts_with("http://")) rest = url.substr(7);
  else return false;
  if (rest.empty() || rest.find_first_of("/?#@ ") != std::string_view::npos) return false;
  std::string_view port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    auto after = rest.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) return false;
    if (!after.empty()) port = after.substr(1);
    if (after == ":") return false;
  } else if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    if (colon == 0) return false;
    port = rest.substr(colon + 1);
    if (port.empty()) return false;
  }
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return port.empty() || (value >= 1 && value <= 65535);
}

void parse_twilio(config::section& s, twilio_config& out) {
  read_secrets(s, "auth_tokens", out.auth_tokens, true);
  s.read("public_base_url", out.public_base_url);
  if (out.public_base_url.empty()) {
    s.error("public_base_url", "is required: the scheme and host Twilio calls, e.g. https://dlr.example.com");
  } else if (!valid_base_url(out.public_base_url)) {
    s.error("public_base_url", "must be http(s)://host[:port] with no path (the request path is appended), got '" +
                                   out.public_base_url + "'");
  }
}

void parse_telnyx(config::section& s, telnyx_config& out) {
  read_secrets(s, "public_keys", out.public_keys, true);
  for (const auto& k : out.public_keys) {
    if (!detail::ed25519_public_key(k)) {
      s.error("public_keys", "'" + k + "' is not the base64 of a 32-byte Ed25519 public key");
    }
  }
  s.read_duration("window", out.window, std::chrono::seconds(1));
}

void parse_standard_webhooks(config::section& s, standard_webhooks_config& out) {
  read_secrets(s, "secrets", out.secrets, true);
  for (const auto& secret : out.secrets) {
    // The secret itself is never echoed: only its shape is wrong.
    if (!detail::standard_webhooks_key(secret)) s.error("secrets", "a secret is not whsec_ followed by base64");
  }
  s.read_duration("tolerance", out.tolerance, std::chrono::seconds(1));
}

void parse_ip(config::section& s, ip_config& out) {
  auto read_ranges = [&s](std::string_view key, std::vector<std::string>& ranges) {
    s.read_list(key, ranges);
    for (const auto& r : ranges) {
      if (!detail::parse_network(r)) s.error(key, "'" + r + "' is not an IP address or CIDR range");
    }
  };
  read_ranges("allow", out.allow);
  read_ranges("trusted_proxies", out.trusted_proxies);
  if (out.allow.empty()) s.error("allow", "needs at least one address or range");
}

/// Reads the nested mapping `key` into `out` (engaged when present) and reports its unknown keys.
template <typename T, typename Parse>
void parse_child(config::section& s, std::string_view key, std::optional<T>& out, Parse parse) {
  auto c = s.child(key);
  if (!c) return;
  T value = out.value_or(T{});
  parse(*c, value);
  c->finish();
  out = std::move(value);
}

}  // namespace

void parse(config::section& s, auth_config& out) {
  parse_child(s, "token", out.token, parse_token);
  if (auto users = s.children("basic"); users && s.has("basic")) {
    if (users->empty()) s.error("basic", "needs at least one user");
    parse_basic(*users, out.basic);
  }
  read_secrets(s, "bearer", out.bearer, s.has("bearer") || s.has("bearer_files"));
  if (!out.basic.empty() && !out.bearer.empty()) {
    s.error("bearer", "basic and bearer both read the Authorization header; configure only one");
  }
  parse_child(s, "hmac", out.hmac, parse_hmac);
  parse_child(s, "twilio", out.twilio, parse_twilio);
  parse_child(s, "telnyx", out.telnyx, parse_telnyx);
  parse_child(s, "standard_webhooks", out.standard_webhooks, parse_standard_webhooks);
  parse_child(s, "ip", out.ip, parse_ip);
}

}  // namespace dlrd::auth
