// The profile engine: reads any gateway's callback (JSON, form, query string or a plain-text
// SMPP receipt, single or batched) into delivery reports, as one profile describes it.
#include <dlrd/decode/profile.hpp>

#include "report_reader.hpp"
#include "values.hpp"

#include <dlrd/report/time.hpp>
#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace dlrd::decode {
namespace {

using json = nlohmann::json;
using detail::at_path;
using detail::scopes;
using text::parse_form;

using detail::trim;

class batch_walker {
 public:
  batch_walker(const profile& p, const json* query, report::time_point received_at, decoded& out,
               std::string_view text = {})
      : p_(p), query_(query), received_at_(received_at), out_(out), text_(text) {}

  /// `flat`: form or query fields, one report, no batch.
  std::optional<decode_error> walk(const json& root, bool flat) {
    std::vector<const json*> chain{&root};
    if (flat) return one(chain, "");
    const auto& steps = p_.batch;
    if (steps.empty()) {
      if (root.is_object()) return one(chain, "");
      if (!root.is_array()) return decode_error{"body must be a JSON object or an array of objects", ""};
      if (root.empty()) return decode_error{"batch is empty", ""};
      if (auto e = too_many(root.size())) return e;
      for (std::size_t i = 0; i < root.size(); ++i) {
        std::string index = "[" + std::to_string(i) + "]";
        std::vector<const json*> c{&root[i]};
        auto e = root[i].is_object()
                     ? element(c, index + ".")
                     : set_aside(c, decode_error{"batch element " + index + " is not an object", index});
        if (e) return e;
      }
      return std::nullopt;
    }
    if (!root.is_object()) return decode_error{"body must be a JSON object", ""};
    if (auto e = nested(steps, 0, chain, "")) return e;
    if (out_.reports.empty() && out_.ignored.empty() && out_.rejected.empty()) {
      if (p_.empty_batch_reason.empty()) return decode_error{"batch is empty", steps.front()};
      out_.ignored.push_back(p_.empty_batch_reason);
    }
    return std::nullopt;
  }

 private:
  std::optional<decode_error> too_many(std::size_t n) const {
    if (n <= p_.max_batch) return std::nullopt;
    return decode_error{"batch has " + std::to_string(n) + " reports; at most " + std::to_string(p_.max_batch) +
                            " are allowed",
                        ""};
  }

  std::optional<decode_error> nested(const std::vector<std::string>& steps, std::size_t k,
                                     std::vector<const json*>& chain, const std::string& prefix) {
    const json* arr = at_path(*chain.back(), steps[k]);
    std::string where = prefix + steps[k];
    if (!arr) {
      // Without the outer list the body is one report (gateways that batch also send single
      // reports); a missing inner list is an empty group.
      if (k == 0) return one(chain, "");
      return std::nullopt;
    }
    if (!arr->is_array()) return decode_error{where + " must be an array", where};
    for (std::size_t i = 0; i < arr->size(); ++i) {
      std::string index = where + "[" + std::to_string(i) + "]";
      const json& el = (*arr)[i];
      chain.push_back(&el);
      std::optional<decode_error> e;
      if (k + 1 < steps.size()) {
        if (!el.is_object()) e = decode_error{index + " is not an object", index};
        else e = nested(steps, k + 1, chain, index + ".");
      } else if (!el.is_object() && !el.is_string() && !el.is_number()) {
        e = set_aside(chain, decode_error{index + " is not an object", index});
      } else {
        e = element(chain, index + ".");
      }
      chain.pop_back();
      if (e) return e;
      if (auto t = too_many(out_.reports.size() + out_.ignored.size() + out_.rejected.size())) return t;
    }
    return std::nullopt;
  }

  /// One batch element: read, or with `batch_errors: element` set aside when it does not decode.
  std::optional<decode_error> element(const std::vector<const json*>& chain, std::string prefix) {
    const auto words = out_.unknown_words.size();
    auto e = one(chain, std::move(prefix));
    if (e && p_.quarantine_elements) out_.unknown_words.resize(words);  // a set-aside element's words are not counted
    return e ? set_aside(chain, std::move(*e)) : std::nullopt;
  }

  /// With `batch_errors: element`, the element's error is kept with a request holding the
  /// element alone and the walk goes on; otherwise the error ends it.
  std::optional<decode_error> set_aside(const std::vector<const json*>& chain, decode_error e) {
    if (!p_.quarantine_elements) return e;
    json alone = *chain.back();
    // Outward from the element: each enclosing object with its batch list cut to one entry.
    for (std::size_t i = chain.size() - 1; i-- > 0;) alone = with_list(*chain[i], p_.batch[i], std::move(alone));
    out_.rejected.push_back({p_.name, std::move(e.reason), std::move(e.field), "application/json", alone.dump(),
                             received_at_});
    return std::nullopt;
  }

  /// `node` with the list at `path` (the whole text as a key, or dotted steps, as at_path
  /// reads it) replaced by a list of `entry` alone; the rest of the list is not copied.
  static json with_list(const json& node, std::string_view path, json entry, bool top = true) {
    const auto dot = path.find('.');
    const auto as_key = top ? node.find(path) : node.end();
    const bool whole = (as_key != node.end() && !as_key->is_null()) || dot == std::string_view::npos;
    const std::string key(whole ? path : path.substr(0, dot));
    json out = json::object();
    for (const auto& [k, v] : node.items()) {
      if (k != key) out[k] = v;
    }
    out[key] = whole ? json::array({std::move(entry)})
                     : with_list(node.at(key), path.substr(dot + 1), std::move(entry), false);
    return out;
  }

  /// `chain`: the enclosing objects, outermost first.
  std::optional<decode_error> one(const std::vector<const json*>& chain, std::string prefix) {
    scopes s;
    s.chain.assign(chain.rbegin(), chain.rend());
    if (query_) s.chain.push_back(query_);
    s.prefix = std::move(prefix);
    s.text = text_;
    report::delivery_report r;
    r.provider = p_.name;
    r.received_at = received_at_;
    std::optional<std::string> ignored;
    if (auto e = detail::read_report(p_, s, out_.unknown_words, r, ignored)) return e;
    if (ignored) out_.ignored.push_back(std::move(*ignored));
    else out_.reports.push_back(std::move(r));
    return std::nullopt;
  }

  const profile& p_;
  const json* query_;
  report::time_point received_at_;
  decoded& out_;
  std::string_view text_;
};

/// Form or query fields as a JSON object of strings; the first occurrence of a name wins.
std::optional<json> fields_object(std::string_view text, std::string_view what, decode_error& err) {
  auto fields = parse_form(text);
  if (!fields) {
    err = decode_error{std::string(what) + " has a malformed percent-escape", ""};
    return std::nullopt;
  }
  json obj = json::object();
  for (auto& [k, v] : *fields) {
    obj.emplace(std::move(k), std::move(v));  // the first occurrence of a name wins
  }
  return obj;
}

bool is_json_media(std::string_view m) {
  return m == "application/json" || m == "text/json" || (m.size() > 5 && m.substr(m.size() - 5) == "+json");
}

std::string accepted_media(unsigned enc) {
  std::string out;
  if (enc & json_body) out += "application/json";
  if (enc & form_body) out += std::string(out.empty() ? "" : " or ") + "application/x-www-form-urlencoded";
  if (enc & text_body) out += std::string(out.empty() ? "" : " or ") + "text/plain";
  if (enc & query_string) out += std::string(out.empty() ? "" : " or ") + "a query string";
  return out;
}

}  // namespace

reading reading_of(const profile& p, const callback_input& in) {
  using b = reading::body_as;
  reading r;
  r.query = !in.query.empty() && (p.encodings & query_string);
  if (in.get) {
    r.unsupported = !(p.encodings & query_string);
  } else if (is_json_media(in.media_type) && (p.encodings & json_body)) {
    r.body = b::json;
  } else if (in.media_type == "application/x-www-form-urlencoded" && (p.encodings & form_body)) {
    r.body = b::form;
  } else if (in.media_type == "text/plain" && (p.encodings & text_body) && !trim(in.body).empty()) {
    r.body = b::text;
  } else if (in.media_type.empty() && trim(in.body).empty() && (p.encodings & query_string)) {
    r.body = b::nothing;
  } else if (in.media_type.empty() && (p.encodings & json_body)) {
    r.body = b::json;  // some gateways omit Content-Type on JSON callbacks
  } else if (in.media_type.empty() && (p.encodings & form_body)) {
    r.body = b::form;
  } else {
    r.unsupported = true;
  }
  return r;
}

std::variant<decoded, profile_error> decode(const profile& p, const callback_input& in,
                                            report::time_point received_at) {
  decoded out;
  decode_error err;
  try {
    const auto r = reading_of(p, in);
    std::optional<json> query;
    if (r.query) {
      query = fields_object(in.query, "query string", err);
      if (!query) return profile_error{err, false};
    }
    if (r.unsupported && in.get) return profile_error{{"GET is not supported by this profile", ""}, true};
    if (r.unsupported) {
      return profile_error{{"content type " + (in.media_type.empty() ? std::string("(none)") : std::string(in.media_type)) +
                                " is not supported here; send " + accepted_media(p.encodings),
                            ""},
                           true};
    }
    enum { use_json, use_form, use_text, use_query } how = r.body == reading::body_as::json   ? use_json
                                                           : r.body == reading::body_as::form ? use_form
                                                           : r.body == reading::body_as::text ? use_text
                                                                                              : use_query;
    const json* q = query ? &*query : nullptr;
    batch_walker walker(p, how == use_query ? nullptr : q, received_at, out,
                        how == use_text ? in.body : std::string_view{});
    std::optional<decode_error> e;
    if (how == use_json) {
      auto doc = json::parse(in.body, nullptr, false);
      if (doc.is_discarded()) return profile_error{{"body is not valid JSON", ""}, false};
      e = walker.walk(doc, false);
    } else if (how == use_form) {
      auto obj = fields_object(in.body, "body", err);
      if (!obj) return profile_error{err, false};
      e = walker.walk(*obj, true);
    } else if (how == use_text) {
      e = walker.walk(json::object(), true);
    } else {
      if (!query) return profile_error{{"no report in the query string", ""}, false};
      e = walker.walk(*query, true);
    }
    if (e) return profile_error{std::move(*e), false};
    return out;
  } catch (const json::exception& ex) {
    // Every access above is type-checked first; this is a guard, not a path.
    return profile_error{{std::string("body could not be decoded: ") + ex.what(), ""}, false};
  }
}

}  // namespace dlrd::decode
