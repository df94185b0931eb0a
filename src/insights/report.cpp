// `dlrd report`: one read of every stats query, laid out as aligned tables, CSV or JSON.
#include <dlrd/insights/report.hpp>

#include <dlrd/insights/stats.hpp>

#include "json.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>

namespace dlrd::insights {

namespace {

// One value as CSV shows it (plain, machine-readable) and as the terminal table shows it.
struct cell {
  std::string csv;
  std::string shown;
  bool right = true;  // numbers align right, names left
};

// One table of the report; the CSV and terminal layouts are both made from it.
struct section {
  std::string name;   // first CSV column, e.g. "countries"
  std::string title;  // heading above the terminal table
  std::vector<std::string> columns;
  std::vector<std::vector<cell>> rows;
};

std::string printf_string(const char* format, double v) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), format, v);
  return buf.data();
}

cell count(std::int64_t n) { return {std::to_string(n), std::to_string(n)}; }

cell rate(std::optional<double> r) {
  if (!r) return {"", "-"};
  return {printf_string("%.6f", *r), printf_string("%.2f%%", *r * 100)};
}

cell seconds(double s) { return {printf_string("%.3f", s), printf_string("%.1f s", s)}; }

cell name(const std::optional<std::string>& v, std::string_view none = "(none)") {
  return {v.value_or(""), v ? *v : std::string(none), false};
}

cell word(std::string_view v) { return {std::string(v), std::string(v), false}; }

std::string range_of(const window& w) { return w.since + " .. " + w.until; }

section daily_section(const daily_stats& s) {
  section out{"daily", "Delivery by day (UTC), " + s.from + " .. " + s.to,
              {"day", "total", "delivered", "failed", "pending", "delivery_rate", "failure_rate"}, {}};
  for (const auto& d : s.days) {
    out.rows.push_back({word(d.day), count(d.total), count(d.delivered), count(d.failed), count(d.pending),
                        rate(d.delivery_rate), rate(d.failure_rate)});
  }
  return out;
}

section breakdown_section(const breakdown_stats& s) {
  std::string key(to_string(s.by));
  section out{std::string(rows_member(s.by)), "By " + key + ", worst failure rate first, " + range_of(s.range),
              {key, "total", "delivered", "undelivered", "rejected", "expired", "failed", "pending", "delivery_rate",
               "failure_rate", "reject_share", "band"},
              {}};
  for (const auto& r : s.rows) {
    out.rows.push_back({name(r.key, "(unknown)"), count(r.total), count(r.delivered), count(r.undelivered),
                        count(r.rejected), count(r.expired), count(r.failed), count(r.pending), rate(r.delivery_rate),
                        rate(r.failure_rate), rate(r.reject_share), word(band_of(r.delivery_rate))});
  }
  return out;
}

section coverage_section(const coverage_stats& s) {
  section out{"coverage",
              "DLR coverage: messages still pending " + std::to_string(s.after.count() / 3600) + " h after sending, " +
                  range_of(s.range),
              {std::string(to_string(s.by)), "total", "pending", "pending_share", "all_pending"},
              {}};
  for (const auto& r : s.rows) {
    out.rows.push_back({name(r.key, "(unknown)"), count(r.total), count(r.pending), rate(r.pending_share),
                        word(r.all_pending ? "yes" : "no")});
  }
  return out;
}

section latency_section(const latency_stats& s) {
  section out{"latency", "Send to delivered, slowest p90 first, " + range_of(s.range),
              {"country", "delivered", "p50_seconds", "p90_seconds", "p99_seconds"}, {}};
  for (const auto& r : s.rows) {
    out.rows.push_back({name(r.country, "(unknown)"), count(r.delivered), seconds(r.p50_seconds),
                        seconds(r.p90_seconds), seconds(r.p99_seconds)});
  }
  return out;
}

section errors_section(const error_code_stats& s) {
  section out{"errors", "Top " + std::to_string(s.top) + " error codes per country and status, " + range_of(s.range),
              {"country", "status", "error_code", "messages", "share", "rank"}, {}};
  for (const auto& r : s.rows) {
    out.rows.push_back({name(r.country, "(unknown)"), word(r.status), name(r.error_code), count(r.messages),
                        rate(r.share), count(r.rank)});
  }
  return out;
}

section rules_section(const rules_stats& s) {
  section out{"rules", "Rate rules firing now", {"rule", "group", "since", "share", "failed", "total"}, {}};
  for (const auto& g : s.firing) {
    out.rows.push_back({word(g.rule), word(g.group_key), word(g.since), rate(g.last_share), count(g.last_failed),
                        count(g.last_total)});
  }
  return out;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string render_csv(const std::vector<section>& sections) {
  std::string out;
  for (const auto& s : sections) {
    if (!out.empty()) out += "\n";
    out += "section";
    for (const auto& c : s.columns) out += "," + csv_field(c);
    out += "\n";
    for (const auto& row : s.rows) {
      out += s.name;
      for (const auto& c : row) out += "," + csv_field(c.csv);
      out += "\n";
    }
  }
  return out;
}

// Terminal columns: a UTF-8 sequence counts once.
std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string render_table(const std::vector<section>& sections) {
  std::string out;
  for (const auto& s : sections) {
    if (!out.empty()) out += "\n";
    out += s.title + "\n";
    if (s.rows.empty()) {
      out += "  (none)\n";
      continue;
    }
    std::vector<std::size_t> widths;
    for (const auto& c : s.columns) widths.push_back(width(c));
    for (const auto& row : s.rows) {
      for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], width(row[i].shown));
    }
    auto line = [&](auto&& text_of, auto&& right_of) {
      std::string l;
      for (std::size_t i = 0; i < widths.size(); ++i) {
        std::string t = text_of(i);
        std::string pad(widths[i] - width(t), ' ');
        l += "  " + (right_of(i) ? pad + t : t + pad);
      }
      while (!l.empty() && l.back() == ' ') l.pop_back();
      out += l + "\n";
    };
    // Headers align like their column's values.
    auto right = [&](std::size_t i) { return s.rows.front()[i].right; };
    line([&](std::size_t i) { return s.columns[i]; }, right);
    for (const auto& row : s.rows) line([&](std::size_t i) { return row[i].shown; }, right);
  }
  return out;
}

}  // namespace

std::optional<report_format> parse_report_format(std::string_view text) {
  if (text == "table") return report_format::table;
  if (text == "csv") return report_format::csv;
  if (text == "json") return report_format::json;
  return std::nullopt;
}

std::string render_report(const std::string& url, int days, report_format format) {
  if (days < 1 || days > max_days) throw std::invalid_argument("--days must be from 1 to 366");
  store::connection conn(url);
  window_spec w;
  w.since_ago = std::chrono::hours(24) * days;
  auto daily = query_daily(conn, days);
  std::vector<breakdown_stats> breakdowns;
  for (auto by : {breakdown_by::country, breakdown_by::provider, breakdown_by::sender}) {
    breakdowns.push_back(query_breakdown(conn, by, w));
  }
  auto coverage = query_coverage(conn, std::chrono::hours(24), w);
  auto latency = query_latency(conn, w);
  auto errors = query_error_codes(conn, w, 5);
  auto rules = query_rules(conn);

  if (format == report_format::json) {
    nlohmann::ordered_json out{{"days", days}, {"daily", json_of(daily)}};
    for (const auto& b : breakdowns) out[std::string(rows_member(b.by))] = json_of(b);
    out["coverage"] = json_of(coverage);
    out["latency"] = json_of(latency);
    out["errors"] = json_of(errors);
    out["rules"] = json_of(rules);
    return out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  std::vector<section> sections{daily_section(daily)};
  for (const auto& b : breakdowns) sections.push_back(breakdown_section(b));
  sections.push_back(coverage_section(coverage));
  sections.push_back(latency_section(latency));
  sections.push_back(errors_section(errors));
  sections.push_back(rules_section(rules));
  return format == report_format::csv ? render_csv(sections) : render_table(sections);
}

}  // namespace dlrd::insights
