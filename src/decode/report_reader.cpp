// One report from its scopes, as a profile says: see report_reader.hpp.
#include "report_reader.hpp"
#include "values.hpp"

#include <dlrd/report/time.hpp>
#include <dlrd/text/ascii.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <system_error>

namespace dlrd::decode::detail {
namespace {
using json = nlohmann::json;

// Beyond this a "price" is not a price; it also keeps fixed-point text short.
constexpr double max_cost = 1e12;

using text::lower;

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

  /// A text-valued field's text: a string (trimmed), or an integer; nothing for another type.
  static std::optional<std::string> text_of(const json& v) {
    if (v.is_string()) return std::string(trim(v.get_ref<const std::string&>()));
    if (v.is_number_integer()) return integer_text(v);
    return std::nullopt;
  }

  /// Why `s` cannot be a field's value, or "" when it can.
  static std::string text_defect(std::string_view s, std::size_t max_bytes) {
    if (s.size() > max_bytes) return "is longer than " + std::to_string(max_bytes) + " bytes";
    if (has_control(s)) return "contains control characters";
    if (!valid_utf8(s)) return "is not valid UTF-8";
    return {};
  }

  /// A text-valued field: a string (trimmed), or an integer. Empty is treated as absent.
  bool text(const std::string& name, const json& v, std::size_t max_bytes, std::optional<std::string>& out) {
    auto s = text_of(v);
    if (!s) return fail(name, name + " must be a string or an integer");
    if (auto why = text_defect(*s, max_bytes); !why.empty()) return fail(name, name + " " + why);
    if (!s->empty()) out = std::move(s);
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
    auto matched = match_id(p_.id_rule, *id);
    if (!matched) return fail(name, name + " " + quote(*id) + " is not a number of the base id_match converts from");
    r.message_id = std::move(*matched);
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

  /// Keeps a zone-less carrier time's text for history, whether or not it becomes the event
  /// time. One that is no short printable text is left out: a field dlrd may not read is never
  /// a reason to refuse the report.
  void keep_carrier_time(report::delivery_report& r, const json* v) {
    auto s = v ? text_of(*v) : receipt_ ? std::optional(receipt_->done_date) : std::nullopt;
    if (s && !s->empty() && text_defect(*s, max_field_bytes).empty()) r.carrier_time = std::move(s);
  }

  bool timestamp(report::delivery_report& r) {
    std::string name;
    // A zone-less carrier time is an instant only when the profile names its zone.
    const json* carrier = find(p_.carrier_time, name);
    keep_carrier_time(r, carrier);
    const json* v = p_.zone_named ? carrier : nullptr;
    if (!v) v = find(p_.timestamp, name);
    if (v) {
      if (!parse_time(*v, name, r.event_at)) return false;
      r.event_time_from_gateway = true;
      return true;
    }
    if (p_.zone_named && receipt_ && !receipt_->done_date.empty()) {
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

}  // namespace

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

std::optional<decode_error> read_report(const profile& p, const scopes& s, std::vector<std::string>& unknown,
                                        report::delivery_report& r, std::optional<std::string>& ignored) {
  report_reader rd(p, s, unknown);
  if ((ignored = rd.ignored())) return std::nullopt;
  if (!rd.read(r)) return *rd.error();
  return std::nullopt;
}

}  // namespace dlrd::decode::detail
