// One report read from its scopes (the batch element, its enclosing objects, the query
// string) as a profile says: the profile engine's part below the batch walker (engine.cpp).
#pragma once

#include <dlrd/decode/profile.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::decode::detail {

using json = nlohmann::json;

/// The objects a report's fields are looked up in: the batch element, its enclosing
/// objects out to the root, then the query string.
struct scopes {
  std::vector<const json*> chain;  // innermost first
  std::string prefix;              // "" or "results[2]." for error field names
  std::string_view text;           // a plain-text body: the receipt itself
};

/// A path inside one object: the whole text as a key first (form names may hold dots),
/// then dotted steps. "@" is the object itself.
const json* at_path(const json& node, std::string_view path);

/// Reads one report from `s` into `r` (whose provider and received_at the caller set).
/// When one of the profile's event rules says this is not a delivery report, `ignored`
/// gets the rule's reason and nothing is read. Returns the decode error, if any.
std::optional<decode_error> read_report(const profile& p, const scopes& s, std::vector<std::string>& unknown,
                                        report::delivery_report& r, std::optional<std::string>& ignored);

}  // namespace dlrd::decode::detail
