// Webhook endpoints from the config, and the routing table the handler reads.
#include <dlrd/http/webhooks.hpp>

#include <stdexcept>

namespace dlrd::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path = path.substr(slash + 1);
  }
  return out;
}

std::string check_path(const std::string& path) {
  if (path.empty() || path.front() != '/') return "must start with '/'";
  if (path.find_first_of("?# ") != std::string::npos) return "must be a plain path (no query, fragment or space)";
  int tokens = 0;
  for (const auto& seg : split_path(path)) {
    if (seg == "{token}") ++tokens;
    else if (seg.find_first_of("{}") != std::string::npos) return "the only placeholder is a whole {token} segment";
  }
  if (tokens > 1) return "may hold one {token} segment";
  return {};
}

}  // namespace

std::vector<webhook_config> default_webhooks(const std::vector<decode::profile>& custom) {
  std::vector<webhook_config> out;
  for (const auto& p : decode::builtin_profiles()) out.push_back({p.name, "/webhooks/" + p.name, {}});
  for (const auto& p : custom) out.push_back({p.name, "/webhooks/" + p.name, {}});
  return out;
}

void parse_webhooks(config::section& root, const std::vector<decode::profile>& custom,
                    std::vector<webhook_config>& out) {
  if (!root.has("webhooks")) {
    root.children("webhooks");  // marks the key as known
    out = default_webhooks(custom);
    return;
  }
  auto items = root.children("webhooks");
  if (!items) return;
  out.clear();
  std::vector<std::string> paths;
  for (auto& item : *items) {
    webhook_config w;
    item.read("profile", w.profile);
    if (w.profile.empty()) {
      item.error("profile", "is required (a built-in profile or one from `profiles:`)");
    } else if (!decode::find_profile(w.profile, custom)) {
      std::string known;
      for (const auto& p : decode::builtin_profiles()) known += (known.empty() ? "" : ", ") + p.name;
      for (const auto& p : custom) known += ", " + p.name;
      item.error("profile", "unknown profile '" + w.profile + "' (known: " + known + ")");
    }
    w.path = "/webhooks/" + w.profile;
    item.read("path", w.path);
    if (auto why = check_path(w.path); !why.empty()) item.error("path", why);
    for (const auto& p : paths) {
      if (p == w.path) item.error("path", "'" + w.path + "' is used by another webhook");
    }
    paths.push_back(w.path);
    if (auto a = item.child("auth")) {
      auth::parse(*a, w.auth);
      a->finish();
    }
    bool has_token_segment = w.path.find("{token}") != std::string::npos;
    if (has_token_segment && !w.auth.token) {
      item.error("path", "has a {token} segment but auth.token has no values");
    }
    item.finish();
    out.push_back(std::move(w));
  }
}

webhook_table::webhook_table(const std::vector<webhook_config>& webhooks, const std::vector<decode::profile>& custom,
                             const auth::auth_config& api_auth)
    : api_auth_(api_auth), api_verifier_(api_auth) {
  for (const auto& w : webhooks) {
    const auto* p = decode::find_profile(w.profile, custom);
    if (!p) throw std::invalid_argument("webhook " + w.path + ": unknown profile '" + w.profile + "'");
    auto ep = std::make_unique<endpoint>(endpoint{w, *p, auth::verifier(w.auth), split_path(w.path), -1});
    for (std::size_t i = 0; i < ep->segments.size(); ++i) {
      if (ep->segments[i] == "{token}") ep->token_segment = static_cast<int>(i);
    }
    for (const auto& other : endpoints_) {
      if (other->config.path == w.path) throw std::invalid_argument("webhook path " + w.path + " is used twice");
    }
    endpoints_.push_back(std::move(ep));
  }
}

std::optional<webhook_table::match> webhook_table::find(std::string_view path) const {
  // Runs for every request: compares segment by segment in place, no allocation.
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (const auto& ep : endpoints_) {
    std::string_view rest = path;
    std::string_view token;
    bool same = true;
    for (std::size_t i = 0; i < ep->segments.size() && same; ++i) {
      auto slash = rest.find('/');
      auto seg = rest.substr(0, slash);
      const bool last = i + 1 == ep->segments.size();
      // The path must end exactly at the last segment.
      same = last ? slash == std::string_view::npos : slash != std::string_view::npos;
      if (static_cast<int>(i) == ep->token_segment) {
        same = same && !seg.empty();
        token = seg;
      } else {
        same = same && seg == ep->segments[i];
      }
      if (!last && slash != std::string_view::npos) rest.remove_prefix(slash + 1);
    }
    if (same) return match{ep.get(), token};
  }
  return std::nullopt;
}

}  // namespace dlrd::http
