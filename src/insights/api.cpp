// GET /v1/stats/*: parameter checks, the query behind each path, its JSON answer.
#include <dlrd/insights/api.hpp>

#include <dlrd/common/thread_name.hpp>
#include <dlrd/insights/stats.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/store/retry.hpp>
#include <dlrd/text/ascii.hpp>
#include <dlrd/text/url.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <variant>

namespace dlrd::insights {

namespace {

constexpr std::string_view stats_prefix = "/v1/stats/";
constexpr std::chrono::seconds max_range{std::chrono::hours(24) * max_days};
// Far beyond any accepted range, far below overflow.
constexpr std::int64_t max_duration_seconds = 100LL * 366 * 86400;

// A parameter the client got wrong: 400 {"error": error, "field": field}.
struct bad_parameter {
  std::string error;
  std::string field;
};

stats_answer error_answer(int status, std::string_view error, std::optional<std::string_view> field = {}) {
  nlohmann::json body{{"error", error}};
  if (field) body["field"] = *field;
  return {status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

stats_answer bad_request(const bad_parameter& b) { return error_answer(400, b.error, b.field); }

// The query string's parameters, each at most once and each one the endpoint knows.
class parameters {
 public:
  static std::variant<parameters, bad_parameter> read(std::string_view query_string,
                                                      const std::vector<std::string_view>& known) {
    auto fields = text::parse_form(query_string);
    if (!fields) return bad_parameter{"malformed query string (a bad %-escape)", "query"};
    parameters p;
    for (auto& [name, value] : *fields) {
      if (name.empty() && value.empty()) continue;  // "a=1&&b=2"
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        return bad_parameter{"unknown parameter", name};
      }
      if (!p.values_.emplace(name, value).second) return bad_parameter{"parameter given more than once", name};
    }
    return p;
  }

  const std::string* get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

std::optional<int> parse_int(std::string_view text, int lo, int hi) {
  int v = 0;
  if (text.empty() || text.size() > 6) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// RFC 3339. A '+' of a zone offset that was not escaped as %2B arrives as a space.
std::optional<report::time_point> parse_time(const std::string& text) {
  if (auto t = report::parse_timestamp(text)) return t;
  auto last_space = text.rfind(' ');
  if (last_space == std::string::npos || last_space < 10) return std::nullopt;
  std::string fixed = text;
  fixed[last_space] = '+';
  return report::parse_timestamp(fixed);
}

std::optional<bad_parameter> read_int(const parameters& p, const std::string& name, int lo, int hi, int& out) {
  if (const auto* v = p.get(name)) {
    auto n = parse_int(*v, lo, hi);
    if (!n) return bad_parameter{name + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi), name};
    out = *n;
  }
  return std::nullopt;
}

std::optional<bad_parameter> read_duration(const parameters& p, const std::string& name, std::chrono::seconds min,
                                           std::chrono::seconds& out) {
  if (const auto* v = p.get(name)) {
    auto d = parse_duration(*v);
    if (!d || *d < min || *d > max_range) {
      return bad_parameter{name + " must be a duration such as 24h, 90m or 7d, at most 366d", name};
    }
    out = *d;
  }
  return std::nullopt;
}

// since (RFC 3339 or a duration back from `until`) and until (RFC 3339), at most 366 days apart.
std::optional<bad_parameter> read_window(const parameters& p, window_spec& w) {
  if (const auto* v = p.get("until")) {
    w.until_at = parse_time(*v);
    if (!w.until_at) return bad_parameter{"until must be an RFC 3339 time such as 2024-05-01T00:00:00Z", "until"};
  }
  if (const auto* v = p.get("since")) {
    if (auto d = parse_duration(*v)) {
      if (*d <= std::chrono::seconds(0) || *d > max_range) {
        return bad_parameter{"since must be a duration of at most 366d or an RFC 3339 time", "since"};
      }
      w.since_ago = *d;
    } else if (auto t = parse_time(*v)) {
      w.since_at = t;
    } else {
      return bad_parameter{"since must be an RFC 3339 time or a duration such as 7d, 24h or 30m", "since"};
    }
  }
  if (w.since_at) {
    auto until = w.until_at.value_or(report::now());
    if (*w.since_at >= until) return bad_parameter{"since must be before until", "since"};
    if (until - *w.since_at > max_range) return bad_parameter{"since and until are more than 366 days apart", "since"};
  }
  return std::nullopt;
}

using endpoint = stats_answer (*)(store::connection&, const parameters&);

struct route {
  std::string_view name;
  std::vector<std::string_view> known;
  endpoint serve;
};

stats_answer daily(store::connection& db, const parameters& p) {
  int days = 30;
  if (auto bad = read_int(p, "days", 1, max_days, days)) return bad_request(*bad);
  return {200, to_json(query_daily(db, days))};
}

template <breakdown_by by>
stats_answer breakdown(store::connection& db, const parameters& p) {
  window_spec w;
  if (auto bad = read_window(p, w)) return bad_request(*bad);
  return {200, to_json(query_breakdown(db, by, w))};
}

std::optional<bad_parameter> read_group(const parameters& p, breakdown_by& out) {
  const auto* v = p.get("by");
  if (!v) return std::nullopt;
  for (auto by : {breakdown_by::country, breakdown_by::provider, breakdown_by::sender}) {
    if (*v == to_string(by)) {
      out = by;
      return std::nullopt;
    }
  }
  return bad_parameter{"by must be country, provider or sender", "by"};
}

stats_answer coverage(store::connection& db, const parameters& p) {
  window_spec w;
  std::chrono::seconds after = std::chrono::hours(24);
  auto by = breakdown_by::country;
  if (auto bad = read_duration(p, "after", std::chrono::seconds(0), after)) return bad_request(*bad);
  if (auto bad = read_group(p, by)) return bad_request(*bad);
  if (auto bad = read_window(p, w)) return bad_request(*bad);
  return {200, to_json(query_coverage(db, after, w, by))};
}

stats_answer latency(store::connection& db, const parameters& p) {
  window_spec w;
  if (auto bad = read_window(p, w)) return bad_request(*bad);
  return {200, to_json(query_latency(db, w))};
}

stats_answer errors(store::connection& db, const parameters& p) {
  window_spec w;
  int top = 5;
  if (auto bad = read_int(p, "top", 1, 100, top)) return bad_request(*bad);
  if (auto bad = read_window(p, w)) return bad_request(*bad);
  return {200, to_json(query_error_codes(db, w, top))};
}

stats_answer rules(store::connection& db, const parameters&) { return {200, to_json(query_rules(db))}; }

const std::array<route, 8>& routes() {
  static const std::array<route, 8> all{{
      {"daily", {"days"}, &daily},
      {"countries", {"since", "until"}, &breakdown<breakdown_by::country>},
      {"providers", {"since", "until"}, &breakdown<breakdown_by::provider>},
      {"senders", {"since", "until"}, &breakdown<breakdown_by::sender>},
      {"coverage", {"after", "by", "since", "until"}, &coverage},
      {"latency", {"since", "until"}, &latency},
      {"errors", {"since", "until", "top"}, &errors},
      {"rules", {}, &rules},
  }};
  return all;
}

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text::is_digit(text[digits])) {
      if (digits == 9) return std::nullopt;  // keeps the sum far from overflow
      n = n * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || digits == text.size()) return std::nullopt;
    std::int64_t unit = 0;
    switch (text[digits]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
    total += n * unit;
    if (total > max_duration_seconds) return std::nullopt;  // however many parts are given
    text.remove_prefix(digits + 1);
  }
  return std::chrono::seconds(total);
}

stats_answer answer_stats(store::connection& db, std::string_view path, std::string_view query_string) {
  if (path.substr(0, stats_prefix.size()) != stats_prefix) return error_answer(404, "not a stats path");
  auto name = path.substr(stats_prefix.size());
  if (!name.empty() && name.back() == '/') name.remove_suffix(1);
  for (const auto& r : routes()) {
    if (r.name != name) continue;
    auto params = parameters::read(query_string, r.known);
    if (auto* bad = std::get_if<bad_parameter>(&params)) return bad_request(*bad);
    return r.serve(db, std::get<parameters>(params));
  }
  return error_answer(404, "unknown stats endpoint; known: daily, countries, providers, senders, coverage, "
                           "latency, errors, rules");
}

stats_service::stats_service(std::string url, std::chrono::seconds cache_for)
    : url_(std::move(url)), cache_for_(cache_for), conn_(url_) {
  for (int i = 0; i < workers; ++i) threads_.push_back(named_thread("dlrd-stats-" + std::to_string(i), [this] { work(); }));
}
stats_service::~stats_service() { stop(); }

void stats_service::stop() {
  std::deque<queued> left;
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(queue_);
  }
  queue_cv_.notify_all();
  for (auto& q : left) q.done(stats_answer{503, R"({"error":"shutting down"})", 1});
  for (auto& t : threads_) t.join();
}

std::optional<stats_answer> stats_service::from_cache(const std::string& key) {
  std::lock_guard lock(cache_mutex_);
  auto it = cache_.find(key);
  if (it != cache_.end() && std::chrono::steady_clock::now() - it->second.at < cache_for_) return it->second.answer;
  return std::nullopt;
}

void stats_service::keep(const std::string& key, const stats_answer& a) {
  constexpr std::size_t max_cached = 256;
  if (a.status != 200 || cache_for_.count() <= 0) return;
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= max_cached) cache_.clear();
  cache_[key] = cached{std::chrono::steady_clock::now(), a};
}

stats_answer stats_service::answer(std::string_view path, std::string_view query_string) {
  auto key = std::string(path) + "?" + std::string(query_string);
  if (auto hit = from_cache(key)) return *hit;
  std::lock_guard lock(mutex_);
  auto a = answer_uncached(conn_, path, query_string);
  keep(key, a);
  return a;
}

void stats_service::answer_async(std::string path, std::string query_string,
                                 std::function<void(stats_answer)> done) {
  if (auto hit = from_cache(path + "?" + query_string)) return done(*hit);
  {
    std::lock_guard lock(queue_mutex_);
    if (!stopping_ && queue_.size() + running_ < max_queued + workers) {
      queue_.push_back(queued{std::move(path), std::move(query_string), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  done(stats_answer{503, R"({"error":"too many stats queries at once, retry later"})", 5});
}

void stats_service::work() {
  store::connection conn(url_);  // this worker's own
  for (;;) {
    queued q;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      q = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    auto key = q.path + "?" + q.query_string;
    auto hit = from_cache(key);  // answered while this one queued
    auto a = hit ? *hit : answer_uncached(conn, q.path, q.query_string);
    if (!hit) keep(key, a);
    q.done(std::move(a));
    std::lock_guard lock(queue_mutex_);
    --running_;
  }
}

stats_answer stats_service::answer_uncached(store::connection& db, std::string_view path,
                                            std::string_view query_string) {
  try {
    return answer_stats(db, path, query_string);
  } catch (const store::database_error& e) {
    // store has reconnected once already: a connection that still breaks is an outage.
    switch (e.kind()) {
      case store::failure::broken_connection:
        spdlog::warn("stats: database connection lost: {}", e.what());
        return stats_answer{503, R"({"error":"database unavailable"})", 5};
      case store::failure::timed_out: return stats_answer{503, R"({"error":"stats query timed out"})", 30};
      default:
        spdlog::error("stats: {} failed: {}", path, e.what());
        return error_answer(500, "stats query failed");
    }
  }
}

}  // namespace dlrd::insights
