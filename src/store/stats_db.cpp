// Runs the dlr_stats_* functions of sql/0009_insights.sql and reads their rows into structs.
#include <dlrd/store/stats_db.hpp>

#include "pg.hpp"

#include <dlrd/report/time.hpp>

#include <stdexcept>

namespace dlrd::store {

namespace {

constexpr const char* utc_rfc3339 = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";

// Every query reads in its own read-only transaction, bounded by query_timeout. JIT is off:
// on 10M rows it spent over a second compiling each query and won nothing back.
template <typename F>
auto read_only(connection& db, F&& read) {
  return with_retry(db, retry_policy{.replay_safe = true}, [&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    tx.exec("SET LOCAL statement_timeout = '" + std::to_string(query_timeout.count()) + "s'");
    tx.exec("SET LOCAL jit = off");
    return read(tx);
  });
}

std::optional<std::string> opt_string(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<std::string>(f.as<std::string>());
}

std::optional<double> opt_double(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<double>(f.as<double>());
}

// The database resolves the bounds (one clock for every instance) before the stats query
// runs, so that query gets constants and PostgreSQL plans it for the actual range.
window resolve(pqxx::transaction_base& tx, const window_spec& w) {
  auto row = tx.exec_params1(
      std::string("SELECT to_char(s AT TIME ZONE 'UTC', ") + utc_rfc3339 + "), to_char(u AT TIME ZONE 'UTC', " +
          utc_rfc3339 +
          ") FROM (SELECT coalesce(nullif($3, '')::timestamptz, now()) AS u) w1, "
          "LATERAL (SELECT coalesce(nullif($1, '')::timestamptz, w1.u - $2::bigint * interval '1 second') AS s) w2",
      w.since_at ? report::format_timestamp(*w.since_at) : std::string(),
      static_cast<std::int64_t>(w.since_ago.count()),
      w.until_at ? report::format_timestamp(*w.until_at) : std::string());
  return window{row[0].as<std::string>(), row[1].as<std::string>()};
}

}  // namespace

std::string_view to_string(breakdown_by by) {
  switch (by) {
    case breakdown_by::country: return "country";
    case breakdown_by::provider: return "provider";
    case breakdown_by::sender: return "sender";
  }
  return "country";
}

daily_stats query_daily(connection& db, int days) {
  if (days < 1 || days > max_days) throw std::invalid_argument("days must be from 1 to 366");
  return read_only(db, [&](pqxx::transaction_base& tx) {
    daily_stats out;
    auto today = tx.exec1("SELECT (now() AT TIME ZONE 'UTC')::date::text")[0].as<std::string>();
    auto rows = tx.exec_params(
        "SELECT day::text, total, delivered, failed, pending, delivery_rate, failure_rate "
        "FROM dlr_stats_daily($1::date - ($2::int - 1), $1::date)",
        today, days);
    for (const auto& r : rows) {
      out.days.push_back(daily_row{r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                                   r[3].as<std::int64_t>(), r[4].as<std::int64_t>(), opt_double(r[5]),
                                   opt_double(r[6])});
    }
    out.to = today;
    out.from = out.days.empty() ? today : out.days.front().day;
    return out;
  });
}

breakdown_stats query_breakdown(connection& db, breakdown_by by, const window_spec& w) {
  return read_only(db, [&](pqxx::transaction_base& tx) {
    breakdown_stats out;
    out.by = by;
    out.range = resolve(tx, w);
    auto rows = tx.exec_params(
        "SELECT key, total, delivered, undelivered, rejected, expired, failed, pending, "
        "delivery_rate, failure_rate, reject_share "
        "FROM dlr_stats_breakdown($1, $2::timestamptz, $3::timestamptz)",
        std::string(to_string(by)), out.range.since, out.range.until);
    for (const auto& r : rows) {
      out.rows.push_back(breakdown_row{opt_string(r[0]), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                                       r[3].as<std::int64_t>(), r[4].as<std::int64_t>(), r[5].as<std::int64_t>(),
                                       r[6].as<std::int64_t>(), r[7].as<std::int64_t>(), opt_double(r[8]),
                                       opt_double(r[9]), opt_double(r[10])});
    }
    return out;
  });
}

coverage_stats query_coverage(connection& db, std::chrono::seconds after, const window_spec& w, breakdown_by by) {
  return read_only(db, [&](pqxx::transaction_base& tx) {
    coverage_stats out;
    out.by = by;
    out.after = after;
    out.range = resolve(tx, w);
    auto rows = tx.exec_params(
        "SELECT key, total, pending, pending_share, all_pending "
        "FROM dlr_stats_coverage($1::bigint * interval '1 second', $2::timestamptz, $3::timestamptz, $4)",
        static_cast<std::int64_t>(after.count()), out.range.since, out.range.until, std::string(to_string(by)));
    for (const auto& r : rows) {
      out.rows.push_back(coverage_row{opt_string(r[0]), r[1].as<std::int64_t>(), r[2].as<std::int64_t>(),
                                      r[3].as<double>(), r[4].as<bool>()});
    }
    return out;
  });
}

latency_stats query_latency(connection& db, const window_spec& w) {
  return read_only(db, [&](pqxx::transaction_base& tx) {
    latency_stats out;
    out.range = resolve(tx, w);
    auto rows = tx.exec_params(
        "SELECT country, delivered, p50_seconds, p90_seconds, p99_seconds "
        "FROM dlr_stats_latency($1::timestamptz, $2::timestamptz)",
        out.range.since, out.range.until);
    for (const auto& r : rows) {
      out.rows.push_back(latency_row{opt_string(r[0]), r[1].as<std::int64_t>(), r[2].as<double>(),
                                     r[3].as<double>(), r[4].as<double>()});
    }
    return out;
  });
}

error_code_stats query_error_codes(connection& db, const window_spec& w, int top) {
  return read_only(db, [&](pqxx::transaction_base& tx) {
    error_code_stats out;
    out.top = top;
    out.range = resolve(tx, w);
    auto rows = tx.exec_params(
        "SELECT country, status, error_code, messages, share, rank "
        "FROM dlr_stats_error_codes($1::timestamptz, $2::timestamptz, $3::int)",
        out.range.since, out.range.until, top);
    for (const auto& r : rows) {
      out.rows.push_back(error_code_row{opt_string(r[0]), r[1].as<std::string>(), opt_string(r[2]),
                                        r[3].as<std::int64_t>(), r[4].as<double>(), r[5].as<std::int64_t>()});
    }
    return out;
  });
}

rules_stats query_rules(connection& db) {
  return read_only(db, [&](pqxx::transaction_base& tx) {
    rules_stats out;
    auto rows = tx.exec(std::string("SELECT rule, group_key, coalesce(to_char(since AT TIME ZONE 'UTC', ") +
                        utc_rfc3339 +
                        "), ''), coalesce(last_share, 0)::float8, coalesce(last_failed, 0), "
                        "coalesce(last_total, 0) FROM dlr_stats_firing_rules ORDER BY rule, group_key");
    for (const auto& r : rows) {
      out.firing.push_back(firing_row{r[0].as<std::string>(), r[1].as<std::string>(),
                                               r[2].as<std::string>(), r[3].as<double>(),
                                               r[4].as<std::int64_t>(), r[5].as<std::int64_t>()});
    }
    return out;
  });
}

}  // namespace dlrd::store
