// Webhook endpoints: which path takes which provider profile, and who may call it.
#pragma once

#include <dlrd/auth/auth.hpp>
#include <dlrd/config/yaml.hpp>
#include <dlrd/decode/profile.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::http {

/// One `webhooks:` entry.
struct webhook_config {
  std::string profile;
  /// Default "/webhooks/<profile>". One segment may be "{token}": the secret of `auth.token`.
  std::string path;
  auth::auth_config auth;
};

/// Reads the `webhooks:` list, checking each profile name against the built-in profiles and
/// `custom`. Absent: every profile at /webhooks/<name>, without authentication.
void parse_webhooks(config::section& root, const std::vector<decode::profile>& custom,
                    std::vector<webhook_config>& out);

/// The endpoints every profile gets when `webhooks:` is absent.
std::vector<webhook_config> default_webhooks(const std::vector<decode::profile>& custom);

/// An immutable routing table built from the config; shared by every I/O thread.
class webhook_table {
 public:
  struct endpoint {
    webhook_config config;
    decode::profile profile;
    auth::verifier verifier;
    std::vector<std::string> segments;  ///< the path split at '/', "{token}" kept as is
    int token_segment = -1;
  };
  struct match {
    const endpoint* ep = nullptr;
    std::string_view token;  ///< the {token} segment's value, when the route has one
  };

  /// Throws std::invalid_argument naming an unknown profile or a duplicate path. `api_auth`
  /// guards the API routes (/v1/..., /dashboard).
  webhook_table(const std::vector<webhook_config>& webhooks, const std::vector<decode::profile>& custom,
                const auth::auth_config& api_auth = {});
  const auth::verifier& api_verifier() const { return api_verifier_; }
  const auth::auth_config& api_auth() const { return api_auth_; }

  std::optional<match> find(std::string_view path) const;
  const std::vector<std::unique_ptr<endpoint>>& endpoints() const { return endpoints_; }

 private:
  std::vector<std::unique_ptr<endpoint>> endpoints_;
  auth::auth_config api_auth_;
  auth::verifier api_verifier_;
};

/// Where the current table lives: swapped whole on reload, read per request.
/// Thread-safety: get() and set() from any thread.
class webhook_routes {
 public:
  explicit webhook_routes(std::shared_ptr<const webhook_table> t) : table_(std::move(t)) {}
  std::shared_ptr<const webhook_table> get() const { return table_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const webhook_table> t) { table_.store(std::move(t), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const webhook_table>> table_;
};

}  // namespace dlrd::http
