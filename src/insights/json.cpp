// JSON bodies of the stats API; absent values (rates without finals, unknown keys) are null.
#include "json.hpp"

namespace dlrd::insights {

namespace {

template <typename T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json with_window(const window& w) { return {{"since", w.since}, {"until", w.until}}; }

// The seed article's rates divide by every message sent (its dashboard queries), dlrd's by
// the messages with a final report: a market where nothing is ever reported reads 0% in the
// first and "no finals" (null) in the second. Both are returned, named.
nlohmann::ordered_json of_sent(std::int64_t part, std::int64_t total) {
  return total > 0 ? nlohmann::ordered_json(static_cast<double>(part) / static_cast<double>(total))
                   : nlohmann::ordered_json(nullptr);
}

// Keys come from the database and are valid UTF-8 there; never let one odd byte fail a body.
std::string text(const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace); }

}  // namespace

std::string_view band_of(std::optional<double> delivery_rate) {
  if (!delivery_rate) return "no_finals";
  if (*delivery_rate >= healthy_delivery_rate) return "healthy";
  if (*delivery_rate >= investigate_delivery_rate) return "degraded";
  return "investigate";
}

std::string_view rows_member(breakdown_by by) {
  switch (by) {
    case breakdown_by::country: return "countries";
    case breakdown_by::provider: return "providers";
    case breakdown_by::sender: return "senders";
  }
  return "countries";
}

nlohmann::ordered_json json_of(const daily_stats& s) {
  auto days = nlohmann::ordered_json::array();
  for (const auto& d : s.days) {
    days.push_back({{"day", d.day}, {"total", d.total}, {"delivered", d.delivered}, {"failed", d.failed},
                    {"pending", d.pending}, {"delivery_rate", or_null(d.delivery_rate)},
                    {"failure_rate", or_null(d.failure_rate)},
                    {"delivery_rate_of_sent", of_sent(d.delivered, d.total)},
                    {"failure_rate_of_sent", of_sent(d.failed, d.total)}});
  }
  return {{"from", s.from}, {"to", s.to}, {"days", std::move(days)}};
}

nlohmann::ordered_json json_of(const breakdown_stats& s) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& r : s.rows) {
    rows.push_back({{std::string(to_string(s.by)), or_null(r.key)}, {"total", r.total}, {"delivered", r.delivered},
                    {"undelivered", r.undelivered}, {"rejected", r.rejected}, {"expired", r.expired},
                    {"failed", r.failed}, {"pending", r.pending}, {"delivery_rate", or_null(r.delivery_rate)},
                    {"failure_rate", or_null(r.failure_rate)}, {"reject_share", or_null(r.reject_share)},
                    {"delivery_rate_of_sent", of_sent(r.delivered, r.total)},
                    {"failure_rate_of_sent", of_sent(r.failed, r.total)}, {"band", band_of(r.delivery_rate)}});
  }
  auto out = with_window(s.range);
  out["bands"] = {{"healthy", healthy_delivery_rate}, {"investigate", investigate_delivery_rate}};
  out[std::string(rows_member(s.by))] = std::move(rows);
  return out;
}

nlohmann::ordered_json json_of(const coverage_stats& s) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& r : s.rows) {
    rows.push_back({{std::string(to_string(s.by)), or_null(r.key)}, {"total", r.total}, {"pending", r.pending},
                    {"pending_share", r.pending_share}, {"all_pending", r.all_pending}});
  }
  auto out = with_window(s.range);
  out["after_seconds"] = s.after.count();
  out[std::string(rows_member(s.by))] = std::move(rows);
  return out;
}

nlohmann::ordered_json json_of(const latency_stats& s) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& r : s.rows) {
    rows.push_back({{"country", or_null(r.country)}, {"delivered", r.delivered}, {"p50_seconds", r.p50_seconds},
                    {"p90_seconds", r.p90_seconds}, {"p99_seconds", r.p99_seconds}});
  }
  auto out = with_window(s.range);
  out["countries"] = std::move(rows);
  return out;
}

nlohmann::ordered_json json_of(const error_code_stats& s) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& r : s.rows) {
    rows.push_back({{"country", or_null(r.country)}, {"status", r.status}, {"error_code", or_null(r.error_code)},
                    {"messages", r.messages}, {"share", r.share}, {"rank", r.rank}});
  }
  auto out = with_window(s.range);
  out["top"] = s.top;
  out["errors"] = std::move(rows);
  return out;
}

nlohmann::ordered_json json_of(const rules_stats& s) {
  auto rows = nlohmann::ordered_json::array();
  for (const auto& g : s.firing) {
    rows.push_back({{"rule", g.rule}, {"group", g.group_key}, {"since", g.since}, {"share", g.last_share},
                    {"failed", g.last_failed}, {"total", g.last_total}});
  }
  return {{"firing", std::move(rows)}};
}

std::string to_json(const daily_stats& s) { return text(json_of(s)); }
std::string to_json(const breakdown_stats& s) { return text(json_of(s)); }
std::string to_json(const coverage_stats& s) { return text(json_of(s)); }
std::string to_json(const latency_stats& s) { return text(json_of(s)); }
std::string to_json(const error_code_stats& s) { return text(json_of(s)); }
std::string to_json(const rules_stats& s) { return text(json_of(s)); }

}  // namespace dlrd::insights
