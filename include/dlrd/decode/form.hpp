// application/x-www-form-urlencoded and query strings: the one parser every profile and
// every signature check uses, so that they all read the same parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::decode {

using form_fields = std::vector<std::pair<std::string, std::string>>;

/// Decodes %XX escapes (and '+' as a space when `plus_as_space`); std::nullopt on a
/// malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space);

/// "a=1&b=x%20y&c" → {{"a","1"},{"b","x y"},{"c",""}} in order, duplicates kept;
/// std::nullopt when an escape is malformed.
std::optional<form_fields> parse_form(std::string_view text);

/// The query string of a request-target ("" when there is none).
std::string_view query_of(std::string_view target);

/// The media type of a Content-Type value, without parameters and lower-cased:
/// "Application/JSON; charset=utf-8" → "application/json". A view of `content_type` when it
/// is already lower case (what gateways send); otherwise a lower-cased copy kept in `storage`.
std::string_view media_type_of(std::string_view content_type, std::string& storage);
/// The path of a request-target, without the query.
std::string_view path_of(std::string_view target);

}  // namespace dlrd::decode
