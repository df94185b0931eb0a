// Request targets, query strings and application/x-www-form-urlencoded bodies: the one
// reader that profiles, signature checks, the status API and the stats API all use, so
// that they all read the same parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::text {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes %XX escapes (and '+' as a space when `plus_as_space`); std::nullopt on a
/// malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

/// RFC 3986 percent-encoding of every byte but the unreserved characters (ALPHA, DIGIT and
/// "-._~"), so any value (a secret with '/', '+', '%' or '&') survives in a path or query.
std::string percent_encode(std::string_view text);

/// "a=1&b=x%20y&c" → {{"a","1"},{"b","x y"},{"c",""}} in order, duplicates kept;
/// std::nullopt when an escape is malformed.
std::optional<form_fields> parse_form(std::string_view text);

/// The query string of a request-target ("" when there is none).
std::string_view query_of(std::string_view target);

/// The path of a request-target, without the query.
std::string_view path_of(std::string_view target);

}  // namespace dlrd::text
