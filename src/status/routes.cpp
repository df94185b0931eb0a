// Request checks of the /v1/messages routes: paths, methods, ids, waits and send bodies.
#include "routes.hpp"

#include <dlrd/decode/decode.hpp>
#include <dlrd/report/country.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <set>

namespace dlrd::status {

namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using failed = std::optional<answer>;  // a check's 400, or nothing when the field is fine

constexpr std::string_view collection = "/v1/messages";
constexpr std::string_view batch_wait_path = "/v1/messages:wait";

bool valid_id(std::string_view id) { return !id.empty() && id.size() <= max_id_length; }

answer bad(std::string reason, std::string field = {}) { return error_answer(400, std::move(reason), std::move(field)); }

answer not_allowed(std::string_view method, std::string allow) {
  auto a = error_answer(405, "method " + std::string(method) + " is not allowed here");
  a.allow = std::move(allow);
  return a;
}

bool present(const json& in, const char* key) { return in.contains(key) && !in[key].is_null(); }

// An optional string field of at most `max` bytes.
failed read_string(const json& in, const char* key, std::size_t max, std::optional<std::string>& out) {
  if (!present(in, key)) return std::nullopt;
  if (!in[key].is_string()) return bad(std::string(key) + " must be a string", key);
  out = in[key].get<std::string>();
  if (out->size() > max) return bad(std::string(key) + " is longer than " + std::to_string(max) + " bytes", key);
  return std::nullopt;
}

// A list of 1..max_len strings of 1..max_bytes bytes, none equal to `other` (if given).
failed read_list(const json& in, const char* key, std::size_t min_count, std::size_t max_count, std::size_t max_bytes,
                 const std::string* other, std::string list_error, std::string item_error,
                 std::optional<std::vector<std::string>>& out) {
  if (!present(in, key)) return std::nullopt;
  const auto& t = in[key];
  if (!t.is_array() || t.size() < min_count || t.size() > max_count) return bad(std::move(list_error), key);
  std::vector<std::string> list;
  for (const auto& v : t) {
    if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > max_bytes ||
        (other && v.get<std::string>() == *other)) {
      return bad(std::move(item_error), key);
    }
    list.push_back(v.get<std::string>());
  }
  out = std::move(list);
  return std::nullopt;
}

failed read_parts(const json& in, std::optional<std::string>& out) {
  if (!present(in, "parts")) return std::nullopt;
  const auto& p = in["parts"];
  if (!p.is_number_integer() || p.get<std::int64_t>() < 1 || p.get<std::int64_t>() > 255) {
    return bad("parts must be an integer from 1 to 255", "parts");
  }
  out = std::to_string(p.get<int>());
  return std::nullopt;
}

failed read_cost(const json& in, const char* key, std::optional<std::string>& out) {
  if (!present(in, key)) return std::nullopt;
  const auto& c = in[key];
  std::string t = c.is_string() ? c.get<std::string>() : c.is_number() ? c.dump() : "";
  bool ok = !t.empty() && t.size() <= 32 &&
            std::all_of(t.begin(), t.end(), [](char ch) { return text::is_digit(ch) || ch == '.'; }) &&
            std::count(t.begin(), t.end(), '.') <= 1 && text::is_digit(t.front());
  ok = ok && report::fits_cost_eur(t);  // NUMERIC(10,6), as in the article
  if (!ok) return bad(std::string(key) + " must be a non-negative decimal number below 10000", key);
  out = t;
  return std::nullopt;
}

// The recipient in E.164 form, and the country from it when none was given.
failed check_recipient(store::send_record& s, const char* to_key, const char* country_key) {
  if (s.to) {
    auto normal = decode::normalize_recipient(*s.to);
    if (!normal) return bad(std::string(to_key) + " is not a plausible E.164 number", to_key);
    s.to = normal;
    if (!s.country) s.country = report::country_of(*s.to);
  }
  const auto& c = s.country;
  if (c && (c->size() != 2 || !text::is_upper((*c)[0]) || !text::is_upper((*c)[1]))) {
    return bad(std::string(country_key) + " must be an ISO 3166 alpha-2 code such as GB", country_key);
  }
  if (s.sent_at && !report::parse_timestamp(*s.sent_at)) return bad("sent_at must be an RFC 3339 timestamp", "sent_at");
  return std::nullopt;
}

std::optional<milliseconds> wait_of(const json& v, milliseconds max) {
  if (v.is_string()) return parse_wait(v.get<std::string>(), max);
  if (v.is_number() && v.get<double>() >= 0) return parse_wait(v.dump(), max);
  return std::nullopt;
}

command batch_wait(std::string_view body, const status_api_config& config) {
  auto in = json::parse(body, nullptr, false);
  if (!in.is_object()) return bad("the body must be a JSON object");
  if (!in.contains("ids") || !in["ids"].is_array() || in["ids"].empty()) {
    return bad("ids must be a non-empty list of message ids", "ids");
  }
  if (in["ids"].size() > config.max_batch) {
    return bad("at most " + std::to_string(config.max_batch) + " ids per request", "ids");
  }
  wait_command w{{}, true, config.max_wait};
  std::set<std::string> seen;
  for (const auto& v : in["ids"]) {
    if (!v.is_string() || !valid_id(v.get<std::string>())) return bad("each id must be a string of 1 to 128 bytes", "ids");
    if (seen.insert(v.get<std::string>()).second) w.ids.push_back(v.get<std::string>());
  }
  if (in.contains("wait")) {
    auto parsed = wait_of(in["wait"], config.max_wait);
    if (!parsed) return bad("wait must be a duration such as 30s or 500ms", "wait");
    w.wait = *parsed;
  }
  return w;
}

command one_message(std::string_view path, std::string_view query, const status_api_config& config) {
  auto id = text::percent_decode(path.substr(collection.size() + 1), false);
  if (!id || !valid_id(*id)) return error_answer(404, "not a valid message id");
  std::optional<milliseconds> wait;
  auto fields = text::parse_form(query);
  if (!fields) return bad("malformed query string");
  for (const auto& [k, v] : *fields) {
    if (k != "wait") continue;
    wait = parse_wait(v, config.max_wait);
    if (!wait) return bad("wait must be a duration such as 30s or 500ms", "wait");
  }
  if (!wait || wait->count() == 0) return lookup_command{std::move(*id)};
  return wait_command{{std::move(*id)}, false, *wait};
}

}  // namespace

std::optional<milliseconds> parse_wait(std::string_view text, milliseconds max) {
  if (text.empty()) return std::nullopt;
  auto d = config::parse_duration(text);
  if (!d) return std::nullopt;
  return std::min(*d, max);
}

answer error_answer(int status, std::string reason, std::string field) {
  answer a;
  a.status = status;
  a.error = std::move(reason);
  a.field = std::move(field);
  return a;
}

answer unavailable(std::string reason) {
  auto a = error_answer(503, std::move(reason));
  a.retry_after = 1;
  return a;
}

std::variant<answer, store::send_record> parse_send(std::string_view body) {
  auto in = json::parse(body, nullptr, false);
  if (!in.is_object()) return bad("the body must be a JSON object");
  // Fields are named after the article's sms_logs columns; the names of the first release
  // (to, from, text, country, cost) are still read when the new one is absent.
  auto name = [&](const char* current, const char* old) { return in.contains(current) ? current : old; };
  const char* to_key = name("to_number", "to");
  const char* country_key = name("country_code", "country");
  store::send_record s;
  std::optional<std::string> id;
  for (auto check : {read_string(in, "message_id", max_id_length, id), read_string(in, to_key, 64, s.to),
                     read_string(in, name("from_number", "from"), 64, s.from),
                     read_string(in, name("text_preview", "text"), 1'600, s.text),
                     read_string(in, country_key, 2, s.country), read_string(in, "provider", 64, s.provider),
                     read_string(in, "sent_at", 64, s.sent_at)}) {
    if (check) return *check;
  }
  if (!id || id->empty()) return bad("message_id is required", "message_id");
  s.message_id = *id;
  if (auto e = check_recipient(s, to_key, country_key)) return *e;
  if (auto e = read_parts(in, s.parts)) return *e;
  if (auto e = read_cost(in, name("cost_eur", "cost"), s.cost)) return *e;
  if (auto e = read_list(in, "tags", 0, 32, 64, nullptr, "tags must be a list of at most 32 strings",
                         "each tag must be a string of 1 to 64 bytes", s.tags)) {
    return *e;
  }
  // The ids the gateway gave each part of a long message, in order (sql/0010): its row then
  // follows its parts' reports.
  if (auto e = read_list(in, "part_ids", 1, 255, 128, &s.message_id, "part_ids must be a list of 1 to 255 ids",
                         "each part id must be a string of 1 to 128 bytes, not the message id", s.part_ids)) {
    return *e;
  }
  if (s.part_ids && !s.parts) s.parts = std::to_string(s.part_ids->size());
  return s;
}

command route(const api_request& req, const status_api_config& config) {
  auto path = text::path_of(req.target);
  if (path == collection) {
    if (req.method != "POST") return not_allowed(req.method, "POST");
    auto send = parse_send(req.body);
    if (auto* a = std::get_if<answer>(&send)) return std::move(*a);
    return send_command{std::get<store::send_record>(std::move(send))};
  }
  if (path == batch_wait_path) {
    if (req.method != "POST") return not_allowed(req.method, "POST");
    return batch_wait(req.body, config);
  }
  if (path.starts_with(collection) && path.size() > collection.size() + 1 && path[collection.size()] == '/') {
    if (req.method != "GET" && req.method != "HEAD") return not_allowed(req.method, "GET, HEAD");
    return one_message(path, text::query_of(req.target), config);
  }
  return error_answer(404, "no route for " + std::string(path));
}

}  // namespace dlrd::status
