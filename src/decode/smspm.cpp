// SMSPM's JSON callback profile: one report object, or an atomic batch array of them.
#include <dlrd/decode/decode.hpp>

#include <dlrd/report/time.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <system_error>

namespace dlrd::decode {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_batch = 1000;
constexpr std::string_view provider_name = "smspm";
// Beyond this a "price" is not a price; it also keeps fixed-point text short.
constexpr double max_cost = 1e12;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

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

bool is_integer(const json& v) { return v.is_number_integer(); }  // signed or unsigned

std::string integer_text(const json& v) {
  return v.is_number_unsigned() ? std::to_string(v.get<std::uint64_t>()) : std::to_string(v.get<std::int64_t>());
}

/// Decimal text without an exponent: "12", "-3", "0.5". Numbers that the gateway sent as
/// strings are checked with the same grammar and kept as sent.
bool is_decimal_text(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  std::size_t int_digits = 0, frac_digits = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
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

/// Decodes one report object; `prefix` is "" for a single callback and "[i]." in a batch.
class object_reader {
 public:
  object_reader(const json& obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  std::optional<decode_error> error() const { return error_; }

  /// The first of `names` present with a non-null value, and the name it was found under.
  const json* find(std::initializer_list<const char*> names, std::string_view& found) const {
    for (const char* n : names) {
      auto it = obj_.find(n);
      if (it != obj_.end() && !it->is_null()) {
        found = n;
        return &*it;
      }
    }
    return nullptr;
  }

  bool fail(std::string_view field, std::string reason) {
    if (!error_) error_ = decode_error{std::move(reason), prefix_ + std::string(field)};
    return false;
  }

  /// A text-valued field: a string (trimmed), or an integer when `integers` allows it.
  /// An empty optional field is treated as absent.
  bool text(std::string_view name, const json& v, bool integers, std::size_t max_bytes,
            std::optional<std::string>& out) {
    std::string s;
    if (v.is_string()) {
      s = std::string(trim(v.get_ref<const std::string&>()));
    } else if (integers && is_integer(v)) {
      s = integer_text(v);
    } else {
      return fail(name, std::string(name) + (integers ? " must be a string or an integer" : " must be a string"));
    }
    if (s.size() > max_bytes) {
      return fail(name, std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
    }
    if (has_control(s)) return fail(name, std::string(name) + " contains control characters");
    if (!s.empty()) out = std::move(s);
    return true;
  }

  bool read(report::delivery_report& r) {
    return message_id(r) && status(r) && recipient(r) && timestamp(r) && optional_text(r) && parts(r) &&
           cost(r);
  }

 private:
  bool message_id(report::delivery_report& r) {
    auto it = obj_.find("messageId");
    if (it == obj_.end()) return fail("messageId", "messageId is missing");
    if (it->is_null()) return fail("messageId", "messageId is null");
    if (it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < 0) {
      return fail("messageId", "messageId must not be a negative number");
    }
    std::optional<std::string> id;
    if (!text("messageId", *it, true, max_message_id_bytes, id)) return false;
    if (!id) return fail("messageId", "messageId is empty");
    r.message_id = std::move(*id);
    return true;
  }

  bool status(report::delivery_report& r) {
    auto it = obj_.find("status");
    if (it == obj_.end()) return fail("status", "status is missing");
    if (it->is_null()) return fail("status", "status is null");
    if (!it->is_string()) return fail("status", "status must be a string");
    auto word = trim(it->get_ref<const std::string&>());
    if (word.empty()) return fail("status", "status is empty");
    auto st = map_status_word(word);
    if (!st) return fail("status", "unknown status " + quote(word));
    r.canonical = *st;
    r.raw_status = std::string(word);
    return true;
  }

  bool recipient(report::delivery_report& r) {
    std::string_view name;
    const json* v = find({"to"}, name);
    if (!v) return true;
    // A minus sign would otherwise pass as a separator ("-44..." is no phone number).
    if (v->is_number_integer() && !v->is_number_unsigned()) return fail(name, "to must not be a negative number");
    std::optional<std::string> raw;
    if (!text(name, *v, true, max_field_bytes, raw)) return false;
    if (!raw) return fail(name, "to is empty");
    r.recipient = normalize_recipient(*raw);
    if (!r.recipient) return fail(name, "to is not a valid international phone number: " + quote(*raw));
    return true;
  }

  bool timestamp(report::delivery_report& r) {
    std::string_view name;
    const json* v = find({"timestamp"}, name);
    if (!v) {
      r.event_at = r.received_at;
      r.event_time_from_gateway = false;
      return true;
    }
    std::optional<report::time_point> t;
    if (v->is_string()) {
      auto s = trim(v->get_ref<const std::string&>());
      t = report::parse_timestamp(s);
      // Some gateways send epoch time as a JSON string.
      if (!t && !s.empty() && is_decimal_text(s) && s.front() != '-') {
        double d = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && end == s.data() + s.size()) t = report::from_epoch_number(d);
      }
      if (!t) {
        return fail(name, "timestamp " + quote(s) +
                              " is neither an ISO 8601 time nor epoch seconds or milliseconds");
      }
    } else if (v->is_number()) {
      t = report::from_epoch_number(v->get<double>());
      if (!t) return fail(name, "timestamp is not a plausible epoch time in seconds or milliseconds");
    } else {
      return fail(name, "timestamp must be a string or a number");
    }
    r.event_at = *t;
    r.event_time_from_gateway = true;
    return true;
  }

  bool optional_text(report::delivery_report& r) {
    std::string_view name;
    if (const json* v = find({"from"}, name); v && !text(name, *v, true, max_field_bytes, r.sender)) return false;
    if (const json* v = find({"errorCode", "error_code"}, name);
        v && !text(name, *v, true, max_field_bytes, r.error_code)) {
      return false;
    }
    return true;
  }

  bool parts(report::delivery_report& r) {
    std::string_view name;
    const json* v = find({"parts"}, name);
    if (!v) return true;
    if (!is_integer(*v)) return fail(name, "parts must be an integer");
    // Unsigned first: a value above INT64_MAX must not wrap into range.
    auto n = v->is_number_unsigned() ? std::min<std::uint64_t>(v->get<std::uint64_t>(), 256)
                                     : static_cast<std::uint64_t>(std::clamp<std::int64_t>(v->get<std::int64_t>(), 0, 256));
    if (n < 1 || n > 255) return fail(name, "parts must be between 1 and 255");
    r.parts = static_cast<std::int32_t>(n);
    return true;
  }

  bool cost(report::delivery_report& r) {
    std::string_view name;
    const json* v = find({"price", "cost"}, name);
    if (!v) return true;
    std::string text_value;
    if (v->is_string()) {
      text_value = std::string(trim(v->get_ref<const std::string&>()));
      if (text_value.empty()) return true;
      if (!is_decimal_text(text_value) || text_value.size() > max_field_bytes) {
        return fail(name, std::string(name) + " must be a decimal number, got " + quote(text_value));
      }
    } else if (is_integer(*v)) {
      text_value = integer_text(*v);
    } else if (v->is_number_float()) {
      double d = v->get<double>();
      if (!(std::fabs(d) < max_cost)) return fail(name, std::string(name) + " is out of range");
      text_value = fixed_text(d);
      if (text_value.empty() || text_value.size() > max_field_bytes) {
        return fail(name, std::string(name) + " has too many decimal places");
      }
    } else {
      return fail(name, std::string(name) + " must be a number or a numeric string");
    }
    r.cost = std::move(text_value);
    return true;
  }

  const json& obj_;
  std::string prefix_;
  std::optional<decode_error> error_;
};

std::variant<report::delivery_report, decode_error> decode_one(const json& obj, std::string prefix,
                                                               report::time_point received_at) {
  report::delivery_report r;
  r.provider = provider_name;
  r.received_at = received_at;
  object_reader rd(obj, std::move(prefix));
  if (!rd.read(r)) return *rd.error();
  return r;
}

}  // namespace

decode_result decode_smspm_json(std::string_view body, report::time_point received_at) {
  try {
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_discarded()) return decode_error{"body is not valid JSON", ""};

    std::vector<report::delivery_report> out;
    if (doc.is_object()) {
      auto one = decode_one(doc, "", received_at);
      if (auto* e = std::get_if<decode_error>(&one)) return std::move(*e);
      out.push_back(std::get<report::delivery_report>(std::move(one)));
      return out;
    }
    if (!doc.is_array()) return decode_error{"body must be a JSON object or an array of objects", ""};
    if (doc.empty()) return decode_error{"batch is empty", ""};
    if (doc.size() > max_batch) {
      return decode_error{"batch has " + std::to_string(doc.size()) + " reports; at most " +
                              std::to_string(max_batch) + " are allowed",
                          ""};
    }
    out.reserve(doc.size());
    for (std::size_t i = 0; i < doc.size(); ++i) {
      std::string index = "[" + std::to_string(i) + "]";
      if (!doc[i].is_object()) return decode_error{"batch element " + index + " is not an object", index};
      auto one = decode_one(doc[i], index + ".", received_at);
      if (auto* e = std::get_if<decode_error>(&one)) return std::move(*e);
      out.push_back(std::get<report::delivery_report>(std::move(one)));
    }
    return out;
  } catch (const json::exception& e) {
    // Every access above is type-checked first; this is a guard, not a path.
    return decode_error{std::string("body could not be decoded: ") + e.what(), ""};
  }
}

}  // namespace dlrd::decode
