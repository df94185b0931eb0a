// Profiles from YAML: the operator's `profiles:` section and the built-in ones embedded in the binary.
#include <dlrd/decode/profile.hpp>

#include <dlrd/text/ascii.hpp>

#include <charconv>

namespace dlrd::decode {

namespace detail {
// Generated from src/decode/profiles/*.yaml by cmake/EmbedText.cmake.
std::string_view builtin_profiles_yaml();
}  // namespace detail

namespace {

/// Splits "statuses[].recipients[]" into {"statuses", "recipients"}.
std::vector<std::string> batch_steps(std::string_view spec) {
  std::vector<std::string> steps;
  while (!spec.empty()) {
    auto end = spec.find("[]");
    auto step = spec.substr(0, end);
    if (!step.empty() && step.front() == '.') step.remove_prefix(1);
    if (!step.empty()) steps.emplace_back(step);
    if (end == std::string_view::npos) break;
    spec = spec.substr(end + 2);
  }
  return steps;
}

bool parse_offset(std::string_view text, int& minutes) {
  if (text == "UTC" || text == "Z" || text == "utc") {
    minutes = 0;
    return true;
  }
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return false;
  int h = 0, m = 0;
  auto r1 = std::from_chars(text.data() + 1, text.data() + 3, h);
  auto r2 = std::from_chars(text.data() + 4, text.data() + 6, m);
  if (r1.ec != std::errc() || r2.ec != std::errc() || h > 14 || m > 59) return false;
  minutes = (text[0] == '-' ? -1 : 1) * (h * 60 + m);
  return true;
}

/// `statuses:` and `error_statuses:`: lower-cased key → canonical status, in file order.
std::vector<std::pair<std::string, report::status>> status_table(config::section& s, std::string_view key) {
  std::vector<std::pair<std::string, std::string>> words;
  s.read_map(key, words);
  std::vector<std::pair<std::string, report::status>> table;
  for (auto& [word, name] : words) {
    auto st = report::parse_canonical(name);
    if (!st) {
      s.error(key, "'" + word + "' maps to '" + name + "'; use pending, delivered, undelivered, rejected or expired");
      continue;
    }
    table.emplace_back(text::lower(word), *st);
  }
  return table;
}

/// `events.accept` / `events.ignore`: a list of {field, values, reason}.
void read_rules(config::section& s, std::string_view key, std::string_view default_reason,
                std::vector<event_rule>& out) {
  auto items = s.children(key);
  if (!items) return;
  for (auto& item : *items) {
    event_rule r;
    r.reason = default_reason;
    item.read("field", r.field);
    std::vector<std::string> values;
    item.read_list("values", values);
    item.read("reason", r.reason);
    item.finish();
    if (r.field.empty()) item.error("field", "an event rule needs a field path");
    if (values.empty()) item.error("values", "an event rule needs at least one value");
    if (r.reason.empty()) item.error("reason", "the reason may not be empty");
    for (const auto& v : values) r.values.push_back(text::lower(v));
    out.push_back(std::move(r));
  }
}

bool valid_format(std::string_view f) {
  if (f == "iso8601" || f == "epoch") return true;
  bool any = false;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 == f.size() || std::string_view("YymdHMS%").find(f[i + 1]) == std::string_view::npos) return false;
    any = true;
    ++i;
  }
  return any;
}

/// `encodings`: which bodies the profile takes.
void read_encodings(config::section& s, profile& out) {
  if (s.has("encodings")) {
    std::vector<std::string> enc;
    s.read_list("encodings", enc);
    unsigned bits = 0;
    for (const auto& e : enc) {
      if (e == "json") bits |= json_body;
      else if (e == "form") bits |= form_body;
      else if (e == "query") bits |= query_string;
      else if (e == "text") bits |= text_body;
      else s.error("encodings", "unknown encoding '" + e + "' (json, form, query, text)");
    }
    if (bits == 0) s.error("encodings", "at least one encoding is needed");
    out.encodings = bits;
  }
}

/// `fields`: where each report field is found.
void read_fields(config::section& s, profile& out) {
  if (auto f = s.child("fields")) {
    f->read_list("message_id", out.message_id);
    f->read_list("status", out.status);
    f->read_list("recipient", out.recipient);
    f->read_list("timestamp", out.timestamp);
    f->read_list("error_code", out.error_code);
    f->read_list("sender", out.sender);
    f->read_list("parts", out.parts);
    f->read_list("cost", out.cost);
    f->read_list("receipt", out.receipt);
    f->read_list("permanent", out.permanent);
    f->read_list("carrier_time", out.carrier_time);
    f->finish();
  }
}

/// `message_id_template`: every `{` names a field and is closed.
void read_message_id_template(config::section& s, profile& out) {
  s.read("message_id_template", out.message_id_template);
  if (!out.message_id_template.empty()) {
    std::string_view t = out.message_id_template;
    std::size_t open = 0;
    bool ok = true;
    while ((open = t.find('{', open)) != std::string_view::npos) {
      auto close = t.find('}', open);
      if (close == std::string_view::npos || close == open + 1) ok = false;
      if (!ok) break;
      open = close;
    }
    if (!ok) s.error("message_id_template", "every '{' needs a field name and a closing '}'");
  }
}

/// `id_match`: how a report's id is rewritten into the id the send logged.
void read_id_match(config::section& s, profile& out) {
  static constexpr std::pair<std::string_view, id_match> names[] = {
      {"exact", id_match::exact},
      {"lower", id_match::lower},
      {"upper", id_match::upper},
      {"unpadded", id_match::unpadded},
      {"decimal_to_hex", id_match::decimal_to_hex},
      {"decimal_to_hex_upper", id_match::decimal_to_hex_upper},
      {"hex_to_decimal", id_match::hex_to_decimal},
  };
  if (!s.has("id_match")) return;
  std::string name;
  s.read("id_match", name);
  std::string known;
  for (const auto& [n, v] : names) {
    if (n == name) {
      out.id_rule = v;
      return;
    }
    known += (known.empty() ? "" : ", ") + std::string(n);
  }
  s.error("id_match", "'" + name + "' is not one of " + known);
}

/// `status_kind`, `statuses`, `error_statuses`, `status_error_codes`: an extending
/// profile's own words come before (and so override) the base's.
void read_status_tables(config::section& s, profile& out) {
  std::string kind = out.kind == status_kind::word ? "word" : "kannel_type";
  s.read_choice("status_kind", kind, {"word", "kannel_type"});
  out.kind = kind == "word" ? status_kind::word : status_kind::kannel_type;
  if (s.has("statuses")) {
    auto table = status_table(s, "statuses");
    // Profile words come first; an extending profile's own words override the base's.
    table.insert(table.end(), out.statuses.begin(), out.statuses.end());
    out.statuses = std::move(table);
  }
  if (s.has("error_statuses")) {
    auto table = status_table(s, "error_statuses");
    table.insert(table.end(), out.error_statuses.begin(), out.error_statuses.end());
    out.error_statuses = std::move(table);
  }
  if (s.has("status_error_codes")) {
    std::vector<std::string> words;
    s.read_list("status_error_codes", words);
    out.status_error_codes.clear();
    for (const auto& w : words) out.status_error_codes.push_back(text::lower(w));
  }
}

/// `timezone`: UTC, a fixed offset, or an IANA zone read from the system's TZif files.
void read_timezone(config::section& s, profile& out) {
  if (s.has("timezone")) {
    std::string tz;
    s.read("timezone", tz);
    out.zone = time_zone{};
    if (!parse_offset(tz, out.zone.fixed_minutes)) {
      std::string why;
      if (auto z = load_time_zone(tz, why)) {
        out.zone = std::move(*z);
      } else {
        s.error("timezone", "expected UTC, an offset like +02:00, or an IANA zone like Europe/Berlin ('" + tz + "': " +
                                why + ")");
      }
    }
    out.zone_named = true;
  }
}

/// `success`: the answer the gateway expects.
void read_success(config::section& s, profile& out) {
  if (auto a = s.child("success")) {
    int code = static_cast<int>(out.success_status);
    a->read("status", code, 200, 299);
    out.success_status = static_cast<unsigned>(code);
    a->read("content_type", out.success_content_type);
    a->read("body", out.success_body);
    a->finish();
  }
}

}  // namespace

void parse_profile(config::section& s, profile& out) {
  s.read("description", out.description);
  read_encodings(s, out);
  if (auto spec = s.read_optional("batch")) out.batch = batch_steps(*spec);
  s.read("max_batch", out.max_batch, 1, 100'000);
  if (s.has("batch_errors")) {
    std::string mode;
    s.read_choice("batch_errors", mode, {"whole", "element"});
    out.quarantine_elements = mode == "element";
  }
  read_fields(s, out);
  read_message_id_template(s, out);
  read_id_match(s, out);
  s.read("recipient_required", out.recipient_required);
  s.read_list("no_error_codes", out.no_error_codes);
  read_status_tables(s, out);
  if (auto e = s.child("events")) {
    // An extending profile's rules add to the base's.
    read_rules(*e, "accept", "not_accepted", out.accept);
    read_rules(*e, "ignore", "ignored", out.ignore);
    e->read("empty_batch", out.empty_batch_reason);
    e->finish();
  }
  if (s.has("timestamp_formats")) {
    s.read_list("timestamp_formats", out.timestamp_formats);
    for (const auto& f : out.timestamp_formats) {
      if (!valid_format(f)) {
        s.error("timestamp_formats", "'" + f + "' is not iso8601, epoch, or a pattern of %Y %y %m %d %H %M %S");
      }
    }
  }
  read_timezone(s, out);
  read_success(s, out);
  // A text body is a receipt, which names the message and its status.
  const bool receipts = !out.receipt.empty() || (out.encodings & text_body);
  if (out.message_id.empty() && out.message_id_template.empty() && !receipts) {
    s.error("fields", "message_id needs at least one field path (or message_id_template, or a receipt field)");
  }
  if (out.status.empty() && !receipts) s.error("fields", "status needs at least one field path");
}

void parse_profiles(config::section& s, std::vector<profile>& out) {
  for (const auto& name : s.keys()) {
    auto c = s.child(name);
    if (!c) continue;
    if (find_builtin(name)) {
      s.error(name, "'" + name + "' is a built-in profile; give yours another name (it may `extends: " + name + "`)");
      c->finish();
      continue;
    }
    profile p;
    if (c->has("extends")) {
      std::string base;
      c->read("extends", base);
      if (const auto* b = find_builtin(base)) p = *b;
      else c->error("extends", "no built-in profile '" + base + "'");
    }
    p.name = name;
    parse_profile(*c, p);
    c->finish();
    out.push_back(std::move(p));
  }
}

const std::vector<profile>& builtin_profiles() {
  static const std::vector<profile> all = [] {
    std::vector<profile> v;
    config::load_string(std::string(detail::builtin_profiles_yaml()), "built-in profiles", [&v](config::section& root) {
      for (const auto& name : root.keys()) {
        auto c = root.child(name);
        if (!c) continue;
        profile p;
        p.name = name;
        parse_profile(*c, p);
        c->finish();
        v.push_back(std::move(p));
      }
    });
    return v;
  }();
  return all;
}

std::string_view builtin_profiles_text() { return detail::builtin_profiles_yaml(); }

const profile* find_builtin(std::string_view name) {
  for (const auto& p : builtin_profiles()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

const profile* find_profile(std::string_view name, const std::vector<profile>& custom) {
  for (const auto& p : custom) {
    if (p.name == name) return &p;
  }
  return find_builtin(name);
}

}  // namespace dlrd::decode
