// The profile engine: reads any gateway's callback (JSON, form, query string or a plain-text
// SMPP receipt, single or batched) into delivery reports, as one profile describes it.
#include <dlrd/decode/profile.hpp>

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

// Beyond this a "price" is not a price; it also keeps fixed-point text short.
constexpr double max_cost = 1e12;

using text::lower;
using text::parse_form;

/// A gateway's value without surrounding blanks and line ends.
constexpr std::string_view trim(std::string_view s) { return text::trim(s, text::blanks_and_line_ends); }

/// C0 controls, DEL, and the UTF-8 encoded C1 controls (U+0080..U+009F): none belong in an
/// identifier, and NUL cannot be stored in a PostgreSQL text column at all.
bool has_control(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f) return true;
  }
  return false;
}

/// Form and query values are bytes; JSON strings were checked by the parser. A value that
/// is not UTF-8 cannot be stored in a text column.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    if (n == 2 && c < 0xc2) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    if (n == 3) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 > 0x9f)) return false;
    }
    if (n == 4) {
      auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xf0 && c1 < 0x90) || c > 0xf4 || (c == 0xf4 && c1 > 0x8f)) return false;
    }
    i += n;
  }
  return true;
}

/// A short, printable rendering of untrusted text for an error reason: control
/// characters become '?', and it is cut at a UTF-8 character boundary.
std::string quote(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (out.size() >= max_field_bytes && (c & 0xc0) != 0x80) {
      out += "...";
      break;
    }
    if (c < 0x20 || c == 0x7f) out.push_back('?');
    else out.push_back(s[i]);
  }
  return "'" + out + "'";
}

std::string integer_text(const json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>()) : std::to_string(v.get<std::int64_t>());
}

/// Decimal text without an exponent: "12", "-3", "0.5".
bool is_decimal_text(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  std::size_t int_digits = 0, frac_digits = 0;
  std::size_t i = 0;
  while (i < s.size() && text::is_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && text::is_digit(s[i])) ++i, ++frac_digits;
    if (frac_digits == 0) return false;
  }
  return i == s.size() && int_digits > 0;
}

std::string fixed_text(double v) {
  char buf[64];
  // Shortest round-trip digits in fixed notation: 0.045 stays "0.045", not 0.04499999...
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  if (ec != std::errc()) return {};
  return std::string(buf, end);
}

/// A lower-cased word against a lower-cased pattern: equal, or "x*" a prefix of it.
bool matches(std::string_view pattern, std::string_view word) {
  if (!pattern.empty() && pattern.back() == '*') return word.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == word;
}

/// A scalar as the lower-cased text a rule compares: strings (trimmed), integers, booleans.
std::optional<std::string> rule_text(const json& v) {
  if (v.is_string()) return lower(trim(v.get_ref<const std::string&>()));
  if (v.is_number_integer()) return integer_text(v);
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  return std::nullopt;
}

/// A path inside one object: the whole text as a key first (form names may hold dots),
/// then dotted steps. "@" is the object itself.
const json* at_path(const json& node, std::string_view path) {
  if (path == "@") return &node;
  if (!node.is_object()) return nullptr;
  // Heterogeneous lookups (nlohmann's object comparator is std::less<>): no key copies.
  if (auto it = node.find(path); it != node.end()) return it->is_null() ? nullptr : &*it;
  if (path.find('.') == std::string_view::npos) return nullptr;
  const json* cur = &node;
  while (!path.empty()) {
    auto dot = path.find('.');
    auto step = path.substr(0, dot);
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
    if (cur->is_array()) {
      // A numeric step indexes a list: "to.0.status".
      std::size_t index = 0;
      auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), index);
      if (ec != std::errc() || end != step.data() + step.size() || index >= cur->size()) return nullptr;
      cur = &(*cur)[index];
      if (cur->is_null()) return nullptr;
      continue;
    }
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(step);
    if (it == cur->end() || it->is_null()) return nullptr;
    cur = &*it;
  }
  return cur;
}

/// The objects a report's fields are looked up in: the batch element, its enclosing
/// objects out to the root, then the query string.
struct scopes {
  std::vector<const json*> chain;  // innermost first
  std::string prefix;              // "" or "results[2]." for error field names
  std::string_view text;           // a plain-text body: the receipt itself
};

/// Reads one report from its scopes, as the profile says.
class report_reader {
 public:
  report_reader(const profile& p, const scopes& s, std::vector<std::string>& unknown)
      : p_(p), s_(s), unknown_(unknown) {}

  std::optional<decode_error> error() const { return error_; }

  bool read(report::delivery_report& r) {
    return receipt() && recipient(r) && message_id(r) && status(r) && timestamp(r) && optional_text(r) &&
           outcome(r) && parts(r) && cost(r);
  }

  /// The reason this event is ignored (not a delivery report), or std::nullopt.
  std::optional<std::string> ignored() const {
    std::string name;
    for (const auto& rule : p_.ignore) {
      const json* v = find({rule.field}, name);
      auto t = v ? rule_text(*v) : std::nullopt;
      if (!t) continue;
      for (const auto& want : rule.values) {
        if (matches(want, *t)) return rule.reason;
      }
    }
    for (const auto& rule : p_.accept) {
      const json* v = find({rule.field}, name);
      if (!v) continue;  // absent: not this rule's concern; the report is read (or found invalid)
      auto t = rule_text(*v);
      bool accepted = t && std::any_of(rule.values.begin(), rule.values.end(),
                                       [&](const std::string& want) { return matches(want, *t); });
      if (!accepted) return rule.reason;
    }
    return std::nullopt;
  }

 private:
  const json* find(const field_paths& paths, std::string& found) const {
    for (const auto& path : paths) {
      for (std::size_t i = 0; i < s_.chain.size(); ++i) {
        // "@" is a scalar batch element ("statuses[].recipients[]"); an object in its place
        // is the report itself, not a value, and must read as "missing".
        if (path == "@" && (i > 0 || s_.chain[0]->is_structured())) break;
        if (const json* v = at_path(*s_.chain[i], path)) {
          found = path;
          return v;
        }
      }
    }
    return nullptr;
  }

  /// "x is missing", or "x is null" when the gateway sent an explicit null.
  bool missing(const field_paths& paths, std::string_view fallback) {
    for (const auto& path : paths) {
      for (const json* scope : s_.chain) {
        if (scope->is_object()) {
          auto it = scope->find(path);
          if (it != scope->end() && it->is_null()) return fail(path, path + " is null");
        }
      }
    }
    std::string first = paths.empty() ? std::string(fallback) : paths.front();
    return fail(first, first + " is missing");
  }

  bool fail(std::string_view field, std::string reason) {
    if (!error_) error_ = decode_error{std::move(reason), s_.prefix + std::string(field)};
    return false;
  }

  /// A text-valued field: a string (trimmed), or an integer. Empty is treated as absent.
  bool text(const std::string& name, const json& v, std::size_t max_bytes, std::optional<std::string>& out) {
    std::string s;
    if (v.is_string()) {
      s = std::string(trim(v.get_ref<const std::string&>()));
    } else if (v.is_number_integer()) {
      s = integer_text(v);
    } else {
      return fail(name, name + " must be a string or an integer");
    }
    if (s.size() > max_bytes) return fail(name, name + " is longer than " + std::to_string(max_bytes) + " bytes");
    if (has_control(s)) return fail(name, name + " contains control characters");
    if (!valid_utf8(s)) return fail(name, name + " is not valid UTF-8");
    if (!s.empty()) out = std::move(s);
    return true;
  }

  bool text_field(const field_paths& paths, std::size_t max_bytes, std::optional<std::string>& out) {
    std::string name;
    const json* v = find(paths, name);
    if (!v) return true;
    return text(name, *v, max_bytes, out);
  }

  bool receipt() {
    std::string name;
    const json* v = p_.receipt.empty() ? nullptr : find(p_.receipt, name);
    if (!v && !s_.text.empty()) {
      // A text/plain body is the receipt itself.
      auto s = trim(s_.text);
      if (s.size() > 1024) return fail("", "body is longer than 1024 bytes");
      if (has_control(s) || !valid_utf8(s)) return fail("", "body contains control characters");
      receipt_ = parse_smpp_receipt(s);
      if (!receipt_) return fail("", "body is not an SMPP delivery receipt (id:... stat:...)");
      receipt_name_ = "body";
      return true;
    }
    if (!v) return true;
    if (!v->is_string()) return fail(name, name + " must be a string");
    auto s = trim(v->get_ref<const std::string&>());
    if (s.size() > 1024) return fail(name, name + " is longer than 1024 bytes");
    receipt_ = parse_smpp_receipt(s);
    receipt_name_ = name;
    return true;
  }

  bool recipient(report::delivery_report& r) {
    std::string name;
    const json* v = find(p_.recipient, name);
    if (!v) {
      if (p_.recipient_required) return fail(p_.recipient.empty() ? "recipient" : p_.recipient.front(),
                                             "recipient is missing");
      return true;
    }
    // A minus sign would otherwise pass as a separator ("-44..." is no phone number).
    if (v->is_number_integer() && !v->is_number_unsigned()) return fail(name, name + " must not be a negative number");
    std::optional<std::string> raw;
    if (!text(name, *v, max_field_bytes, raw)) return false;
    if (!raw) return fail(name, name + " is empty");
    r.recipient = normalize_recipient(*raw);
    if (!r.recipient) return fail(name, name + " is not a valid international phone number: " + quote(*raw));
    return true;
  }

  bool message_id(report::delivery_report& r) {
    std::optional<std::string> id;
    std::string name;
    if (!p_.message_id_template.empty()) {
      if (!compose(r, id)) return false;
      name = "message_id";
    } else {
      const json* v = find(p_.message_id, name);
      if (!v && receipt_ && !receipt_->id.empty()) {
        id = receipt_->id;
        name = receipt_name_;
      } else if (!v) {
        return missing(p_.message_id, "message_id");
      } else {
        if (v->is_number_integer() && !v->is_number_unsigned()) {
          return fail(name, name + " must not be a negative number");
        }
        if (!text(name, *v, max_message_id_bytes, id)) return false;
      }
    }
    if (!id) return fail(name, name + " is empty");
    if (id->size() > max_message_id_bytes) {
      return fail(name, name + " is longer than " + std::to_string(max_message_id_bytes) + " bytes");
    }
    if (has_control(*id) || !valid_utf8(*id)) return fail(name, name + " contains control characters");
    r.message_id = std::move(*id);
    return true;
  }

  bool compose(const report::delivery_report& r, std::optional<std::string>& out) {
    std::string id;
    std::string_view t = p_.message_id_template;
    while (!t.empty()) {
      auto open = t.find('{');
      id.append(t.substr(0, open));
      if (open == std::string_view::npos) break;
      auto close = t.find('}', open);
      auto key = t.substr(open + 1, close - open - 1);
      t = t.substr(close + 1);
      if (key == "$recipient") {
        if (!r.recipient) return fail("recipient", "recipient is missing (it is part of the message id)");
        id.append(*r.recipient);
        continue;
      }
      std::optional<std::string> part;
      if (!text_field({std::string(key)}, max_message_id_bytes, part)) return false;
      if (!part) return fail(key, std::string(key) + " is missing (it is part of the message id)");
      id.append(*part);
    }
    out = std::move(id);
    return true;
  }

  std::optional<report::status> map_word(std::string_view word) const {
    auto w = lower(word);
    for (const auto& [key, st] : p_.statuses) {
      if (matches(key, w)) return st;
    }
    return map_status_word(word);
  }

  /// Unknown words are kept raw and read as pending (never an error): gateways add words.
  void word_status(report::delivery_report& r, std::string_view word) {
    r.raw_status = std::string(word);
    if (auto st = map_word(word)) {
      r.canonical = *st;
    } else {
      r.canonical = report::status::pending;
      unknown_.emplace_back(word);
    }
  }

  bool status(report::delivery_report& r) {
    std::string name;
    const json* v = find(p_.status, name);
    if (!v && receipt_ && !receipt_->stat.empty() && p_.kind == status_kind::word) {
      word_status(r, receipt_->stat);
      return true;
    }
    if (!v) return missing(p_.status, "status");
    if (p_.kind == status_kind::kannel_type) return kannel_status(r, name, *v);
    std::optional<std::string> word;
    if (!text(name, *v, max_field_bytes, word)) return false;
    if (!word) return fail(name, name + " is empty");
    word_status(r, *word);
    return true;
  }

  bool kannel_status(report::delivery_report& r, const std::string& name, const json& v) {
    std::optional<std::string> t;
    if (!text(name, v, 16, t)) return false;
    if (!t) return fail(name, name + " is empty");
    unsigned bits = 0;
    auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), bits);
    if (ec != std::errc() || end != t->data() + t->size()) {
      return fail(name, name + " must be Kannel's numeric DLR type, got " + quote(*t));
    }
    using report::status;
    status st = status::pending;
    bool known = true;
    // Kannel 1.5 sends expiry as 0x20|DLR_FAIL (34); a bare 0x20 is Kannel 1.4's
    // DLR_INTERMEDIATE, a non-final notice that must not read as a failure.
    if (bits & 1) st = status::delivered;
    else if (bits & 16) st = status::rejected;
    else if ((bits & 32) && (bits & 2)) st = status::expired;
    else if (bits & 2) st = status::undelivered;
    else if (bits & (4 | 8 | 32)) st = status::pending;
    else known = false;
    r.raw_status = "type:" + *t;
    // The SMSC's own receipt says why a message failed: "stat:EXPIRED" under type 2.
    if (receipt_ && !receipt_->stat.empty()) {
      r.raw_status = receipt_->stat;
      if (report::is_failed(st)) {
        if (auto refined = map_word(receipt_->stat); refined && report::is_failed(*refined)) st = *refined;
      }
    }
    if (!known) unknown_.push_back("type:" + *t);
    r.canonical = st;
    return true;
  }

  bool parse_time(const json& v, const std::string& name, report::time_point& out) {
    if (v.is_number()) {
      for (const auto& f : p_.timestamp_formats) {
        if (f == "epoch") {
          if (auto t = report::from_epoch_number(v.get<double>())) {
            out = *t;
            return true;
          }
        }
      }
      return fail(name, name + " is not a plausible epoch time in seconds or milliseconds");
    }
    if (!v.is_string()) return fail(name, name + " must be a string or a number");
    auto s = trim(v.get_ref<const std::string&>());
    for (const auto& f : p_.timestamp_formats) {
      if (auto t = parse_time_with(f, s, p_.zone)) {
        out = *t;
        return true;
      }
    }
    std::string formats;
    for (const auto& f : p_.timestamp_formats) formats += (formats.empty() ? "" : ", ") + f;
    return fail(name, name + " " + quote(s) + " matches none of the formats " + formats);
  }

  bool timestamp(report::delivery_report& r) {
    std::string name;
    // A zone-less carrier time is an instant only when the profile names its zone.
    const json* v = p_.zone_named ? find(p_.carrier_time, name) : nullptr;
    if (!v) v = find(p_.timestamp, name);
    if (v) {
      if (!parse_time(*v, name, r.event_at)) return false;
      r.event_time_from_gateway = true;
      return true;
    }
    if (receipt_ && !receipt_->done_date.empty()) {
      auto t = parse_time_with(receipt_->done_date.size() == 12 ? "%y%m%d%H%M%S" : "%y%m%d%H%M",
                               receipt_->done_date, p_.zone);
      if (t) {
        r.event_at = *t;
        r.event_time_from_gateway = true;
        return true;
      }
    }
    r.event_at = r.received_at;
    r.event_time_from_gateway = false;
    return true;
  }

  bool optional_text(report::delivery_report& r) {
    if (!text_field(p_.sender, max_field_bytes, r.sender)) return false;
    if (!text_field(p_.error_code, max_field_bytes, r.error_code)) return false;
    if (!r.error_code && receipt_ && !receipt_->err.empty() &&
        receipt_->err.find_first_not_of('0') != std::string::npos) {
      r.error_code = receipt_->err.substr(0, max_field_bytes);
    }
    if (!r.error_code && !r.raw_status.empty() && r.raw_status.size() <= max_field_bytes) {
      auto w = lower(r.raw_status);
      for (const auto& pattern : p_.status_error_codes) {
        if (matches(pattern, w)) {
          r.error_code = r.raw_status;
          break;
        }
      }
    }
    if (r.error_code && std::find(p_.no_error_codes.begin(), p_.no_error_codes.end(), *r.error_code) !=
                            p_.no_error_codes.end()) {
      r.error_code.reset();
    }
    return true;
  }

  /// A failure's error code (then the gateway's permanent flag) decides whether it is
  /// permanent (rejected) or transient (undelivered); never a delivered or pending report.
  bool outcome(report::delivery_report& r) {
    if (!report::is_failed(r.canonical)) return true;
    if (r.error_code && !p_.error_statuses.empty()) {
      auto code = lower(*r.error_code);
      const std::pair<std::string, report::status>* hit = nullptr;
      for (const auto& e : p_.error_statuses) {
        if (e.first == code) {
          hit = &e;
          break;
        }
        if (!hit && matches(e.first, code)) hit = &e;
      }
      if (hit) r.canonical = hit->second;
    }
    std::string name;
    const json* v = find(p_.permanent, name);
    if (!v) return true;
    auto t = rule_text(*v);
    if (t == "true") r.canonical = report::status::rejected;
    else if (t == "false") {
      if (r.canonical == report::status::rejected) r.canonical = report::status::undelivered;
    } else {
      return fail(name, name + " must be true or false");
    }
    return true;
  }

  bool parts(report::delivery_report& r) {
    std::string name;
    const json* v = find(p_.parts, name);
    if (!v) return true;
    std::int64_t n = 0;
    if (v->is_number_unsigned()) {
      n = static_cast<std::int64_t>(std::min<std::uint64_t>(v->get<std::uint64_t>(), 256));
    } else if (v->is_number_integer()) {
      n = v->get<std::int64_t>();
    } else if (v->is_string()) {
      auto s = trim(v->get_ref<const std::string&>());
      if (s.empty()) return true;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
      if (ec != std::errc() || end != s.data() + s.size()) return fail(name, name + " must be an integer");
    } else {
      return fail(name, name + " must be an integer");
    }
    if (n < 1 || n > 255) return fail(name, name + " must be between 1 and 255");
    r.parts = static_cast<std::int32_t>(n);
    return true;
  }

  bool cost(report::delivery_report& r) {
    std::string name;
    const json* v = find(p_.cost, name);
    if (!v) return true;
    std::string text_value;
    if (v->is_string()) {
      text_value = std::string(trim(v->get_ref<const std::string&>()));
      if (text_value.empty()) return true;
      if (!is_decimal_text(text_value) || text_value.size() > max_field_bytes) {
        return fail(name, name + " must be a decimal number, got " + quote(text_value));
      }
    } else if (v->is_number_integer()) {
      text_value = integer_text(*v);
    } else if (v->is_number_float()) {
      double d = v->get<double>();
      if (!(std::fabs(d) < max_cost)) return fail(name, name + " is out of range");
      text_value = fixed_text(d);
      if (text_value.empty() || text_value.size() > max_field_bytes) {
        return fail(name, name + " has too many decimal places");
      }
    } else {
      return fail(name, name + " must be a number or a numeric string");
    }
    r.cost = std::move(text_value);
    return true;
  }

  const profile& p_;
  const scopes& s_;
  std::vector<std::string>& unknown_;
  std::optional<decode_error> error_;
  std::optional<smpp_receipt> receipt_;
  std::string receipt_name_;
};

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
        if (!root[i].is_object()) return decode_error{"batch element " + index + " is not an object", index};
        std::vector<const json*> c{&root[i]};
        if (auto e = one(c, index + ".")) return e;
      }
      return std::nullopt;
    }
    if (!root.is_object()) return decode_error{"body must be a JSON object", ""};
    if (auto e = nested(steps, 0, chain, "")) return e;
    if (out_.reports.empty() && out_.ignored.empty()) {
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
      } else {
        if (!el.is_object() && !el.is_string() && !el.is_number()) {
          e = decode_error{index + " is not an object", index};
        } else {
          e = one(chain, index + ".");
        }
      }
      chain.pop_back();
      if (e) return e;
      if (auto t = too_many(out_.reports.size() + out_.ignored.size())) return t;
    }
    return std::nullopt;
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
    report_reader rd(p_, s, out_.unknown_words);
    if (auto reason = rd.ignored()) {
      out_.ignored.push_back(std::move(*reason));
      return std::nullopt;
    }
    if (!rd.read(r)) return *rd.error();
    out_.reports.push_back(std::move(r));
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
