// Runs an endpoint's configured checks on a request: every one, whatever fails first.
#include <dlrd/auth/auth.hpp>

#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

#include "detail.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace dlrd::auth {

namespace {

using failures = std::vector<std::string>;

std::string_view header(const request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string_view{} : std::string_view(it->value());
}

/// Whether `presented` equals any of `secrets`. Every secret is compared, so the time
/// taken does not tell which one (or whether one) matched.
bool matches_any(std::string_view presented, const std::vector<std::string>& secrets) {
  bool any = false;
  for (const auto& s : secrets) any |= constant_time_equal(presented, s);
  return any;
}

/// The credentials of `Authorization: <scheme> <credentials>` (scheme case-insensitive, RFC 9110);
/// empty when the header is absent or uses another scheme.
std::string_view authorization(const request& req, std::string_view scheme) {
  auto value = text::trim(header(req, "Authorization"));
  auto space = value.find(' ');
  if (space == std::string_view::npos || !text::iequals(value.substr(0, space), scheme)) return {};
  return text::trim(value.substr(space + 1));
}

enum class freshness { fresh, stale, malformed };

/// A unix-seconds timestamp against the replay window around `now`.
freshness check_timestamp(std::string_view text, report::time_point now, std::chrono::milliseconds window) {
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  // Bounded so that the conversion to microseconds cannot overflow (year 5138).
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0 || seconds > 100'000'000'000) {
    return freshness::malformed;
  }
  auto at = std::chrono::sys_seconds(std::chrono::seconds(seconds));
  auto distance = now > at ? now - at : at - now;
  return distance <= window ? freshness::fresh : freshness::stale;
}

std::string joined(const failures& f) {
  std::string out;
  for (const auto& s : f) {
    if (!out.empty()) out += "; ";
    out += s;
  }
  return out;
}

/// Whether any of `macs` (one per secret; std::nullopt where it could not be computed) equals
/// `presented`. Every one is compared; an empty presented MAC never matches.
bool matches_any_mac(std::string_view presented, const std::vector<std::optional<std::string>>& macs) {
  bool any = false;
  for (const auto& mac : macs) any |= mac && !mac->empty() && constant_time_equal(presented, *mac);
  return any && !presented.empty();
}

bool any_failed(const std::vector<std::optional<std::string>>& macs) {
  return std::any_of(macs.begin(), macs.end(), [](const auto& m) { return !m; });
}

}  // namespace

struct verifier::impl {
  auth_config config;
  bool empty = true;  // no check configured: asked on every request, so decided once
  std::vector<std::string> basic_credentials;  // "user:password", as the header carries them
  std::vector<detail::ed25519_key> telnyx_keys;
  std::vector<std::string> standard_webhooks_keys;  // the secrets' bytes, decoded once
  std::vector<detail::ip_network> allow;
  std::vector<detail::ip_network> trusted_proxies;

  void check_token(const token_config& c, const check_input& in, failures& f) const {
    std::string from_query;
    std::string_view presented = in.path_token;
    if (presented.empty()) {
      auto fields = text::parse_form(text::query_of(in.req.target()));
      if (!fields) {
        f.emplace_back("token: malformed query string");
        return;
      }
      auto it = std::find_if(fields->begin(), fields->end(), [&](const auto& kv) { return kv.first == c.query_param; });
      if (it != fields->end()) from_query = std::move(it->second);
      presented = from_query;
    }
    if (presented.empty()) f.emplace_back("token: missing");
    else if (!matches_any(presented, c.values)) f.emplace_back("token: wrong token");
  }

  void check_basic(const check_input& in, failures& f) const {
    auto credentials = authorization(in.req, "Basic");
    if (credentials.empty()) {
      f.emplace_back("basic: missing credentials");
      return;
    }
    auto decoded = detail::base64_decode(credentials);
    if (!decoded) f.emplace_back("basic: malformed credentials");
    else if (!matches_any(*decoded, basic_credentials)) f.emplace_back("basic: wrong user or password");
  }

  void check_bearer(const check_input& in, failures& f) const {
    auto token = authorization(in.req, "Bearer");
    if (token.empty()) f.emplace_back("bearer: missing token");
    else if (!matches_any(token, config.bearer)) f.emplace_back("bearer: wrong token");
  }

  /// Whether the decoder will read query parameters that no check pins: every one but the
  /// endpoint's token parameter, whose value the token check fixes to a configured secret.
  bool reads_unsigned_query(const check_input& in) const {
    if (!in.reads.query) return false;
    auto fields = text::parse_form(text::query_of(in.req.target()));
    if (!fields) return true;
    const bool token_in_query = config.token && in.path_token.empty();
    return std::any_of(fields->begin(), fields->end(),
                       [&](const auto& kv) { return !token_in_query || kv.first != config.token->query_param; });
  }

  void check_hmac(const hmac_config& c, const check_input& in, failures& f) const {
    if (reads_unsigned_query(in)) {
      f.emplace_back("hmac: query string read as report data but not signed");
      return;
    }
    auto signature = text::trim(header(in.req, c.header));
    auto timestamp = c.timestamp_header.empty() ? std::string_view{} : text::trim(header(in.req, c.timestamp_header));
    if (signature.empty()) {
      f.emplace_back("hmac: missing signature");
      return;
    }
    if (!c.timestamp_header.empty() && timestamp.empty()) {
      f.emplace_back("hmac: missing timestamp");
      return;
    }
    std::optional<std::string> presented;
    if (signature.starts_with(c.prefix)) {
      signature.remove_prefix(c.prefix.size());
      presented = c.encoding == "base64" ? detail::base64_decode(signature) : detail::hex_decode(signature);
    }
    if (!presented || presented->empty()) {
      f.emplace_back("hmac: malformed signature");
      return;
    }
    const std::string_view body = in.req.body();
    std::vector<std::optional<std::string>> macs;
    for (const auto& secret : c.secrets) {
      macs.push_back(c.timestamp_header.empty() ? detail::hmac(c.algorithm, secret, {body})
                                                : detail::hmac(c.algorithm, secret, {timestamp, c.separator, body}));
    }
    if (any_failed(macs)) {
      f.emplace_back("hmac: signature could not be computed");
    } else if (!matches_any_mac(*presented, macs)) {
      f.emplace_back("hmac: wrong signature");
    } else if (!c.timestamp_header.empty()) {
      auto state = check_timestamp(timestamp, in.now, c.window);
      if (state == freshness::malformed) f.emplace_back("hmac: malformed timestamp");
      else if (state == freshness::stale) f.emplace_back("hmac: stale timestamp");
    }
  }

  static void check_twilio(const twilio_config& c, const check_input& in, failures& f) {
    auto signature = text::trim(header(in.req, "X-Twilio-Signature"));
    if (signature.empty()) {
      f.emplace_back("twilio: missing signature");
      return;
    }
    auto presented = detail::base64_decode(signature);
    if (!presented || presented->size() != 20) {
      f.emplace_back("twilio: malformed signature");
      return;
    }
    // A body the decoder reads as a form is signed as its parameters sorted by name (then
    // value), each name followed by its value, whatever its Content-Type says; a body read
    // any other way only through the URL's bodySHA256 parameter.
    std::string params;
    if ((in.reads.body == decode::reading::body_as::json || in.reads.body == decode::reading::body_as::text) &&
        !body_sha256_matches(in.req)) {
      f.emplace_back("twilio: body read as report data but not signed (no matching bodySHA256)");
      return;
    }
    if (in.reads.body == decode::reading::body_as::form) {
      auto fields = text::parse_form(in.req.body());
      if (!fields) {
        f.emplace_back("twilio: malformed form body");
        return;
      }
      std::sort(fields->begin(), fields->end());
      for (const auto& [name, value] : *fields) {
        params += name;
        params += value;
      }
    }
    const std::string_view target = in.req.target();
    std::vector<std::optional<std::string>> macs;
    for (const auto& token : c.auth_tokens) macs.push_back(detail::hmac("sha1", token, {c.public_base_url, target, params}));
    if (any_failed(macs)) f.emplace_back("twilio: signature could not be computed");
    else if (!matches_any_mac(*presented, macs)) f.emplace_back("twilio: wrong signature");
  }

  /// Twilio's scheme for a JSON body: the URL Twilio signs carries bodySHA256=<hex SHA-256>.
  static bool body_sha256_matches(const request& req) {
    auto fields = text::parse_form(text::query_of(req.target()));
    if (!fields) return false;
    auto it = std::find_if(fields->begin(), fields->end(), [](const auto& kv) { return kv.first == "bodySHA256"; });
    if (it == fields->end()) return false;
    auto presented = detail::hex_decode(it->second);
    auto digest = detail::sha256(req.body());
    return presented && digest && !digest->empty() && constant_time_equal(*presented, *digest);
  }

  void check_telnyx(const telnyx_config& c, const check_input& in, failures& f) const {
    if (reads_unsigned_query(in)) {
      f.emplace_back("telnyx: query string read as report data but not signed");
      return;
    }
    auto signature = text::trim(header(in.req, "telnyx-signature-ed25519"));
    auto timestamp = text::trim(header(in.req, "telnyx-timestamp"));
    if (signature.empty()) {
      f.emplace_back("telnyx: missing signature");
      return;
    }
    if (timestamp.empty()) {
      f.emplace_back("telnyx: missing timestamp");
      return;
    }
    auto presented = detail::base64_decode(signature);
    if (!presented || presented->size() != 64) {
      f.emplace_back("telnyx: malformed signature");
      return;
    }
    std::string message;
    message.reserve(timestamp.size() + 1 + in.req.body().size());
    message.append(timestamp).append("|").append(in.req.body());
    bool valid = false;
    for (const auto& key : telnyx_keys) valid |= detail::ed25519_verify(key, *presented, message);
    if (!valid) {
      f.emplace_back("telnyx: wrong signature");
      return;
    }
    auto state = check_timestamp(timestamp, in.now, c.window);
    if (state == freshness::malformed) f.emplace_back("telnyx: malformed timestamp");
    else if (state == freshness::stale) f.emplace_back("telnyx: stale timestamp");
  }

  /// Standard Webhooks: any "v1,<base64>" of the space-separated list signs
  /// "<webhook-id>.<webhook-timestamp>.<body>" with one of the keys; other versions (v1a,
  /// asymmetric) are skipped, as the spec's libraries do.
  void check_standard_webhooks(const standard_webhooks_config& c, const check_input& in, failures& f) const {
    if (reads_unsigned_query(in)) {
      f.emplace_back("standard_webhooks: query string read as report data but not signed");
      return;
    }
    auto id = text::trim(header(in.req, "webhook-id"));
    auto timestamp = text::trim(header(in.req, "webhook-timestamp"));
    auto list = text::trim(header(in.req, "webhook-signature"));
    if (id.empty() || timestamp.empty() || list.empty()) {
      f.emplace_back(list.empty() ? "standard_webhooks: missing signature"
                                  : id.empty() ? "standard_webhooks: missing webhook-id"
                                               : "standard_webhooks: missing timestamp");
      return;
    }
    std::vector<std::string> presented;
    while (!list.empty()) {
      auto space = list.find(' ');
      auto item = list.substr(0, space);
      list = space == std::string_view::npos ? std::string_view{} : list.substr(space + 1);
      if (!item.starts_with("v1,")) continue;
      if (auto sig = detail::base64_decode(item.substr(3)); sig && !sig->empty()) presented.push_back(std::move(*sig));
    }
    if (presented.empty()) {
      f.emplace_back("standard_webhooks: malformed signature");
      return;
    }
    const std::string_view body = in.req.body();
    std::vector<std::optional<std::string>> macs;
    for (const auto& key : standard_webhooks_keys) {
      macs.push_back(detail::hmac("sha256", key, {id, ".", timestamp, ".", body}));
    }
    bool valid = false;
    for (const auto& sig : presented) valid |= matches_any_mac(sig, macs);
    if (any_failed(macs)) {
      f.emplace_back("standard_webhooks: signature could not be computed");
    } else if (!valid) {
      f.emplace_back("standard_webhooks: wrong signature");
    } else {
      auto state = check_timestamp(timestamp, in.now, c.tolerance);
      if (state == freshness::malformed) f.emplace_back("standard_webhooks: malformed timestamp");
      else if (state == freshness::stale) f.emplace_back("standard_webhooks: stale timestamp");
    }
  }

  void check_ip(const check_input& in, failures& f) const {
    auto peer = detail::parse_address(in.peer_address);
    if (!peer) {
      f.emplace_back("ip: unreadable peer address");
      return;
    }
    std::vector<std::string_view> forwarded;
    auto [first, last] = in.req.equal_range("X-Forwarded-For");
    for (auto it = first; it != last; ++it) forwarded.emplace_back(it->value());
    auto client = detail::client_address(*peer, trusted_proxies, forwarded);
    if (!client) f.emplace_back("ip: malformed X-Forwarded-For");
    else if (!detail::contains(allow, *client)) f.emplace_back("ip: address not allowed");
  }
};

verifier::verifier(auth_config config) : impl_(std::make_unique<impl>()) {
  impl_->empty = config.empty();
  for (const auto& b : config.basic) impl_->basic_credentials.push_back(b.user + ":" + b.password);
  if (config.hmac && !detail::known_hmac_algorithm(config.hmac->algorithm)) {
    throw std::invalid_argument("auth: unknown HMAC algorithm '" + config.hmac->algorithm + "'");
  }
  if (config.telnyx) {
    for (const auto& k : config.telnyx->public_keys) {
      auto key = detail::ed25519_public_key(k);
      if (!key) throw std::invalid_argument("auth: not an Ed25519 public key: '" + k + "'");
      impl_->telnyx_keys.push_back(std::move(key));
    }
  }
  if (config.standard_webhooks) {
    for (const auto& secret : config.standard_webhooks->secrets) {
      auto key = detail::standard_webhooks_key(secret);
      if (!key) throw std::invalid_argument("auth: a Standard Webhooks secret is not whsec_ followed by base64");
      impl_->standard_webhooks_keys.push_back(std::move(*key));
    }
  }
  if (config.ip) {
    impl_->allow = detail::parse_networks(config.ip->allow);
    impl_->trusted_proxies = detail::parse_networks(config.ip->trusted_proxies);
  }
  impl_->config = std::move(config);
}

verifier::~verifier() = default;
verifier::verifier(verifier&&) noexcept = default;
verifier& verifier::operator=(verifier&&) noexcept = default;

verdict verifier::check(const check_input& in) const {
  // A moved-from verifier fails closed.
  if (!impl_) return {false, "auth: no verifier"};
  const auto& c = impl_->config;
  failures f;
  if (c.token) impl_->check_token(*c.token, in, f);
  if (!c.basic.empty()) impl_->check_basic(in, f);
  if (!c.bearer.empty()) impl_->check_bearer(in, f);
  if (c.hmac) impl_->check_hmac(*c.hmac, in, f);
  if (c.twilio) impl_->check_twilio(*c.twilio, in, f);
  if (c.telnyx) impl_->check_telnyx(*c.telnyx, in, f);
  if (c.standard_webhooks) impl_->check_standard_webhooks(*c.standard_webhooks, in, f);
  if (c.ip) impl_->check_ip(in, f);
  return {f.empty(), joined(f)};
}

bool verifier::empty() const { return !impl_ || impl_->empty; }

std::string_view verifier::label_of(const verdict& v) {
  if (v.ok) return {};
  static constexpr std::string_view labels[] = {"token",  "basic",  "bearer",           "hmac",
                                                "twilio", "telnyx", "standard_webhooks", "ip"};
  auto check = std::string_view(v.reason).substr(0, v.reason.find(':'));
  for (auto l : labels) {
    if (check == l) return l;
  }
  return "other";
}

}  // namespace dlrd::auth
