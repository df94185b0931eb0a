// `dlrd endpoints`: the webhook URLs a configuration serves, as an operator pastes them into
// each gateway's callback field, with the checks each one makes.
#pragma once

#include <dlrd/app/config.hpp>

#include <string>

namespace dlrd::app {

struct endpoints_options {
  /// The scheme and host the gateways reach ("https://dlr.example.com"); empty: the listen
  /// address and port, with a note that a proxy usually changes them.
  std::string base_url;
  /// Print each `{token}` as the first configured secret, URL-encoded, instead of the placeholder.
  bool reveal = false;
};

/// One line per webhook (profile, URL, auth) and one for the API routes; a header explains
/// the placeholders. Pure: reads only `config`.
std::string describe_endpoints(const daemon_config& config, const endpoints_options& options);

/// What an endpoint checks, in words: "none", or e.g. "token (path), ip allowlist (2)".
std::string describe_auth(const auth::auth_config& auth, bool token_in_path);

}  // namespace dlrd::app
