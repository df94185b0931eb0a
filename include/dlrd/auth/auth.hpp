// Who may call an endpoint: per-endpoint checks (shared secret in path or query, HTTP
// Basic, bearer, HMAC over the body, Twilio, Telnyx and Standard Webhooks signatures, IP
// allowlist). Every configured check must pass. Each check accepts several secrets at once,
// for rotation.
#pragma once

#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/profile.hpp>
#include <dlrd/report/report.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::auth {

using request = boost::beast::http::request<boost::beast::http::string_body>;

/// A shared secret carried in the URL: as the `{token}` segment of the endpoint's path,
/// or as a query parameter.
struct token_config {
  std::vector<std::string> values;
  std::string query_param = "token";  ///< read when the route has no {token} segment
  bool operator==(const token_config&) const = default;
};

struct basic_user {
  std::string user;
  std::string password;
  bool operator==(const basic_user&) const = default;
};

/// Generic HMAC over the raw body (optionally "<timestamp><separator><body>").
struct hmac_config {
  std::string header = "X-Signature";
  std::string algorithm = "sha256";       ///< sha1 | sha256 | sha512
  std::string encoding = "hex";           ///< hex | base64
  std::string prefix;                     ///< e.g. "sha256=" as GitHub-style senders put it
  std::vector<std::string> secrets;
  std::string timestamp_header;           ///< empty: no timestamp, no replay window
  std::string separator = ".";            ///< between timestamp and body in the signed text
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  bool operator==(const hmac_config&) const = default;
};

/// Twilio's X-Twilio-Signature: base64(HMAC-SHA1(auth token, public URL + sorted form params));
/// a non-form body is signed through the URL's bodySHA256 parameter (hex SHA-256 of the body).
struct twilio_config {
  std::vector<std::string> auth_tokens;
  /// The scheme and host the gateway called ("https://dlr.example.com"); TLS usually ends at
  /// a proxy, so the URL dlrd sees is not the one Twilio signed.
  std::string public_base_url;
  bool operator==(const twilio_config&) const = default;
};

/// Telnyx: Ed25519 over "<telnyx-timestamp>|<body>", signature base64 in telnyx-signature-ed25519.
struct telnyx_config {
  std::vector<std::string> public_keys;   ///< base64 of the 32-byte raw public key
  std::chrono::milliseconds window{std::chrono::minutes(5)};
  bool operator==(const telnyx_config&) const = default;
};

/// Standard Webhooks (the standard-webhooks spec, symmetric scheme): `webhook-signature` is
/// a space-separated list of "v1,<base64 HMAC-SHA256>" (any one matching passes) over
/// "<webhook-id>.<webhook-timestamp>.<body>", keyed with the secret's bytes.
struct standard_webhooks_config {
  std::vector<std::string> secrets;  ///< as the sender shows them: "whsec_<base64>" (the prefix optional)
  /// How far `webhook-timestamp` (unix seconds) may be from now, either way.
  std::chrono::milliseconds tolerance{std::chrono::minutes(5)};
  bool operator==(const standard_webhooks_config&) const = default;
};

/// Source addresses allowed (CIDRs, IPv4 and IPv6). With trusted proxies, the client is the
/// right-most X-Forwarded-For address not itself a trusted proxy.
struct ip_config {
  std::vector<std::string> allow;
  std::vector<std::string> trusted_proxies;
  bool operator==(const ip_config&) const = default;
};

struct auth_config {
  std::optional<token_config> token;
  std::vector<basic_user> basic;          ///< empty: no Basic check
  std::vector<std::string> bearer;        ///< empty: no bearer check
  std::optional<hmac_config> hmac;
  std::optional<twilio_config> twilio;
  std::optional<telnyx_config> telnyx;
  std::optional<standard_webhooks_config> standard_webhooks;
  std::optional<ip_config> ip;
  bool operator==(const auth_config&) const = default;
  bool empty() const { return *this == auth_config{}; }
};

/// Reads an `auth:` mapping (keys: token, basic, bearer, bearer_files, hmac, twilio, telnyx,
/// standard_webhooks, ip); the caller calls finish() on `s`, this finishes the nested
/// mappings. Every list of secrets `K` is read from `K` (items ${ENV} expanded) and `K_files`
/// (one secret per file); Basic passwords from `password` or `password_file`. Missing
/// secrets, unknown algorithms or encodings, bad CIDRs, bad Telnyx keys, a Standard Webhooks
/// secret that is not base64 and a Twilio base URL with a path are errors on `s`.
void parse(config::section& s, auth_config& out);

struct check_input {
  const request& req;
  std::string_view path_token;    ///< the route's {token} segment; empty when it has none
  std::string_view peer_address;  ///< the TCP peer, textual IP
  report::time_point now;
  /// What the decoder will read of `req` as report data (decode::reading_of). A signature
  /// check refuses a request whose read parts its scheme does not sign: hmac, telnyx and
  /// standard_webhooks sign the body only, so a query string read as report data (beyond the
  /// endpoint's own token parameter) is refused; twilio signs the URL and the form
  /// parameters, so a body read as JSON is refused unless the URL carries its bodySHA256. The default, for callers that
  /// do not decode, reads a raw body and the query string: every signature must cover both.
  decode::reading reads{decode::reading::body_as::json, true, false};
};

struct verdict {
  bool ok = true;
  /// Which check failed and why ("token: missing", "hmac: stale timestamp"...), for logs and
  /// the metrics label `reason`. Never contains a secret. Never sent to the client.
  std::string reason;
};

/// Immutable once built; `check` is const and safe on every I/O thread at once.
class verifier {
 public:
  explicit verifier(auth_config config);
  ~verifier();
  verifier(verifier&&) noexcept;
  verifier& operator=(verifier&&) noexcept;

  /// Runs every configured check (no short-cut: the work done does not depend on which
  /// check fails) with constant-time comparisons.
  verdict check(const check_input& in) const;
  bool empty() const;
  /// The short label of the failure reason for metrics (bounded set): "token", "basic",
  /// "bearer", "hmac", "twilio", "telnyx", "standard_webhooks", "ip" (the first failed
  /// check), "other" for a reason that names none of them, "" when `v.ok`.
  static std::string_view label_of(const verdict& v);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// `target` with the value of every secret-bearing query parameter (and the path token
/// segment at `token_segment`, counted from 0 after the leading '/', when >= 0) replaced by
/// "REDACTED", for logs and metrics.
std::string redact_target(std::string_view target, const auth_config& config, int token_segment = -1);

/// Compares without an early exit (the time depends on the lengths only).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace dlrd::auth
