// Measures dlrd's batch write statement (store::write_statement, the writer's own text) with four ways of passing
// the batch (issue 4): json, jsonb, unnest arrays, COPY; and, with the writer's json, what each index, the
// fillfactor, history, synchronous_commit, wal_compression and the distance from a checkpoint cost (issue 20).
#include <dlrd/report/country.hpp>
#include <dlrd/report/report.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/store/batch_json.hpp>
#include <dlrd/store/migrations.hpp>
#include <dlrd/store/write_statement.hpp>
#include <dlrd/store/writer.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::status;

// ------------------------------------------------------------------ the statement
// The writer's own statement (store::write_statement), with its batch sources swapped.
using dlrd::store::batch_column;
using dlrd::store::column_definitions;

enum class method { json, jsonb, unnest, copy };

struct variant {
  std::string name;
  method how;
  int fillfactor = 0;              // 0: the migration's own setting
  std::vector<std::string> drop{};  // indexes dropped for this variant's runs (restored for the next)
  std::string session{};            // run on the writing connection first, e.g. a SET
  bool history = true;              // false: the writer's store.history off (no dlr_events)
  bool warm = false;                // a pass of other reports since the checkpoint: few full-page images
};

// "unnest($first::type[], ...) AS alias(name, ...)"; advances `first` past the arrays.
std::string unnest_source(std::string_view alias, std::span<const batch_column> columns, int& first) {
  std::string arrays, names;
  for (const auto& c : columns) {
    if (!arrays.empty()) {
      arrays += ", ";
      names += ", ";
    }
    arrays += "$" + std::to_string(first++) + "::" + std::string(c.type) + "[]";
    names += c.name;
  }
  return "unnest(" + arrays + ") AS " + std::string(alias) + "(" + names + ")";
}

std::string statement_for(method how) {
  using dlrd::store::events_columns;
  using dlrd::store::quarantine_columns;
  using dlrd::store::winners_columns;
  switch (how) {
    case method::json:
      return dlrd::store::write_statement();
    case method::jsonb:
      return dlrd::store::write_statement(
          {"jsonb_to_recordset($1::jsonb) AS " + column_definitions("w", winners_columns()),
           "jsonb_to_recordset($2::jsonb) AS " + column_definitions("e", events_columns()),
           "jsonb_to_recordset($3::jsonb) AS " + column_definitions("q", quarantine_columns()), "$4::text[]"});
    case method::unnest: {
      // Events $1.., winners after them; the workload has no quarantine rows, that source stays JSON.
      int n = 1;
      auto events = unnest_source("e", events_columns(), n);
      auto winners = unnest_source("w", winners_columns(), n);
      auto quarantine = "json_to_recordset($" + std::to_string(n) + "::json) AS " +
                        column_definitions("q", quarantine_columns());
      return dlrd::store::write_statement({winners, events, quarantine, "$" + std::to_string(n + 1) + "::text[]"});
    }
    case method::copy:
      return dlrd::store::write_statement(
          {"upsert_stage_winners AS w", "upsert_stage_events AS e",
           "json_to_recordset($1::json) AS " + column_definitions("q", quarantine_columns()), "$2::text[]"});
  }
  return {};
}

std::string stage_table_sql(std::string_view name, std::span<const batch_column> columns) {
  auto defs = column_definitions(name, columns);
  return "CREATE TEMP TABLE " + defs + " ON COMMIT DELETE ROWS";
}

// ------------------------------------------------------------------ encodings
// JSON text exactly as the writer builds it.
std::string json_array(const std::vector<delivery_report>& rs) { return dlrd::store::reports_json(rs); }

// A report's value for one batch column, as text (NULL: nullopt); the same values
// store::append_report_json writes.
std::optional<std::string> value_of(const delivery_report& r, std::string_view column) {
  using dlrd::report::format_timestamp;
  if (column == "message_id") return r.message_id;
  if (column == "status") return std::string(dlrd::report::to_string(r.canonical));
  if (column == "raw_status") return r.raw_status;
  if (column == "event_at") return format_timestamp(r.event_at);
  if (column == "from_gateway") return r.event_time_from_gateway ? "t" : "f";
  if (column == "received_at") return format_timestamp(r.received_at);
  if (column == "provider") return r.provider;
  if (column == "recipient") return r.recipient;
  if (column == "country") return r.recipient ? dlrd::report::country_of(*r.recipient) : std::nullopt;
  if (column == "sender") return r.sender;
  if (column == "error_code") return r.error_code;
  if (column == "parts") return r.parts ? std::optional(std::to_string(*r.parts)) : std::nullopt;
  if (column == "cost") return r.cost && dlrd::report::fits_cost_eur(*r.cost) ? r.cost : std::nullopt;
  if (column == "carrier_time") return r.carrier_time;
  throw std::runtime_error("no value for batch column " + std::string(column));
}

// One PostgreSQL array literal: every element double-quoted with '"' and '\' escaped, NULL unquoted.
std::string array_literal(const std::vector<delivery_report>& rs, std::string_view column) {
  std::string text = "{";
  for (const auto& r : rs) {
    if (text.size() > 1) text.push_back(',');
    auto v = value_of(r, column);
    if (!v) {
      text += "NULL";
      continue;
    }
    text.push_back('"');
    for (char c : *v) {
      if (c == '"' || c == '\\') text.push_back('\\');
      text.push_back(c);
    }
    text.push_back('"');
  }
  text.push_back('}');
  return text;
}

// The unnest method's parameters: one array per events column, then one per winners column.
std::vector<std::string> arrays(const std::vector<delivery_report>& events, const std::vector<delivery_report>& winners) {
  std::vector<std::string> p;
  for (const auto& c : dlrd::store::events_columns()) p.push_back(array_literal(events, c.name));
  for (const auto& c : dlrd::store::winners_columns()) p.push_back(array_literal(winners, c.name));
  return p;
}

// stream_to writes a NULL for a null const char*; it takes a tuple-like row, so the width is fixed.
constexpr std::size_t stage_width = 11;

void copy_rows(pqxx::transaction_base& tx, const char* table, std::span<const batch_column> columns,
               const std::vector<delivery_report>& rs) {
  if (columns.size() != stage_width) throw std::runtime_error(std::string(table) + ": unexpected column count");
  pqxx::stream_to s(tx, table);
  for (const auto& r : rs) {
    std::array<std::optional<std::string>, stage_width> values;
    std::array<const char*, stage_width> row{};
    for (std::size_t i = 0; i < stage_width; ++i) {
      values[i] = value_of(r, columns[i].name);
      row[i] = values[i] ? values[i]->c_str() : nullptr;
    }
    s << row;
  }
  s.complete();
}

void copy_batch(pqxx::transaction_base& tx, const std::vector<delivery_report>& events,
                const std::vector<delivery_report>& winners) {
  copy_rows(tx, "upsert_stage_events", dlrd::store::events_columns(), events);
  copy_rows(tx, "upsert_stage_winners", dlrd::store::winners_columns(), winners);
}

// ------------------------------------------------------------------ the workload
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (auto pos = s.find(sep); pos != std::string::npos; pos = s.find(sep, from)) {
    out.push_back(s.substr(from, pos - from));
    from = pos + 1;
  }
  out.push_back(s.substr(from));
  return out;
}

struct options {
  std::string url;
  long seed_rows = 500000;
  int batches = 100;
  int batch_size = 1000;
  int runs = 3;
  double duplicates = 0.10;
  std::string schema_file;  // run on an empty schema before the migrations: the table users arrive with
  std::vector<std::string> methods{"json", "jsonb", "unnest", "copy", "json-ff100"};
};

struct batch {
  std::vector<delivery_report> winners;  // merged by dlrd's own merge_batch, sorted by message_id
  std::vector<delivery_report> events;   // every report, sorted by the writer's event key
};

// Deterministic: every method and run writes exactly the same reports.
// `earlier` shifts every event back: the warm-up pass (variant::warm) loses to the measured one.
std::vector<batch> make_workload(const options& o, unsigned seed = 4, std::chrono::hours earlier = {}) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<long> id(1, o.seed_rows);
  const auto t0 = dlrd::report::time_point(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1)) - earlier;
  std::vector<delivery_report> recent;  // what a duplicate resends
  std::size_t seq = 0;
  std::vector<batch> out;
  for (int b = 0; b < o.batches; ++b) {
    std::vector<delivery_report> reports;
    for (int i = 0; i < o.batch_size; ++i) {
      if (!recent.empty() && unit(rng) < o.duplicates) {
        reports.push_back(recent[std::uniform_int_distribution<std::size_t>(0, recent.size() - 1)(rng)]);
        continue;
      }
      delivery_report r;
      long k = id(rng);
      r.message_id = "bench-" + std::to_string(k);
      double p = unit(rng);
      r.canonical = p < 0.90 ? status::delivered : p < 0.94 ? status::undelivered : p < 0.97 ? status::rejected
                                                                                             : status::expired;
      r.raw_status = std::string(dlrd::report::to_string(r.canonical));
      r.event_at = t0 + std::chrono::milliseconds(++seq);
      r.event_time_from_gateway = true;
      r.received_at = r.event_at + std::chrono::milliseconds(1500);
      r.provider = "smspm";
      char to[32];
      std::snprintf(to, sizeof to, "+4477%08ld", k % 100000000);
      r.recipient = to;
      if (dlrd::report::is_failed(r.canonical)) r.error_code = std::to_string(100 + k % 50);
      r.parts = 1;
      r.cost = "0.0450";
      if (recent.size() < 10000) recent.push_back(r); else recent[seq % recent.size()] = r;
      reports.push_back(std::move(r));
    }
    batch bt;
    bt.winners = dlrd::store::merge_batch(reports);
    std::sort(reports.begin(), reports.end(), [](const delivery_report& a, const delivery_report& c) {
      return std::tie(a.message_id, a.canonical, a.event_at, a.provider) <
             std::tie(c.message_id, c.canonical, c.event_at, c.provider);
    });
    bt.events = std::move(reports);
    out.push_back(std::move(bt));
  }
  return out;
}

// ------------------------------------------------------------------ the database
// The indexes a variant may drop (not those behind a constraint), as statements that create them
// again if missing; on a partitioned table the parent's definition recreates the partitions' too.
std::vector<std::string> droppable_indexes(const options& o) {
  pqxx::connection c(o.url);
  pqxx::nontransaction tx(c);
  std::vector<std::string> out;
  for (const auto& r : tx.exec(R"sql(
SELECT regexp_replace(replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON '), '^CREATE (UNIQUE )?INDEX ',
                      'CREATE \1INDEX IF NOT EXISTS ')
  FROM pg_index i
 WHERE i.indrelid IN ('sms_logs'::regclass, 'dlr_events'::regclass)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
 ORDER BY 1)sql")) {
    out.push_back(r[0].as<std::string>());
  }
  return out;
}

// Same table contents before every run: the seeded sends, no reports, no events, the variant's indexes.
void reset(const options& o, const variant& v, int fillfactor, const std::vector<std::string>& indexes) {
  pqxx::connection c(o.url);
  pqxx::nontransaction tx(c);
  tx.exec0("TRUNCATE sms_logs, dlr_events, dlr_quarantine, dlr_alert_outbox RESTART IDENTITY CASCADE");
  for (const auto& def : indexes) tx.exec0(def);
  for (const auto& name : v.drop) tx.exec0("DROP INDEX " + name);
  tx.exec0("ALTER TABLE sms_logs SET (fillfactor = " + std::to_string(fillfactor) + ")");
  // Sends spread over the seed's last days, one a second, as an application logs them.
  tx.exec0(R"sql(
INSERT INTO sms_logs (message_id, to_number, from_number, text_preview, sent_at, parts, cost_eur, country_code, status,
                      created_at, updated_at)
SELECT 'bench-' || g, '+4477' || lpad((g % 100000000)::text, 8, '0'), 'DLRD', 'Your code is ' || (g % 1000000),
       timestamptz '2025-12-31 23:00:00+00' - g * interval '1 second', 1, 0.0450, 'GB', 'pending', now(), now()
  FROM generate_series(1, )sql" + std::to_string(o.seed_rows) + ") g");
  tx.exec0("VACUUM ANALYZE sms_logs");
  tx.exec0("VACUUM ANALYZE dlr_events");
  tx.exec0("CHECKPOINT");
}

// An empty public schema, then the table users arrive with (the article's), for migrate to adopt.
void start_from(const options& o) {
  std::FILE* f = std::fopen(o.schema_file.c_str(), "r");
  if (f == nullptr) throw std::runtime_error("cannot read " + o.schema_file);
  std::string sql;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) sql.append(buf, n);
  std::fclose(f);
  pqxx::connection c(o.url);
  pqxx::nontransaction tx(c);
  tx.exec0("DROP SCHEMA public CASCADE");
  tx.exec0("CREATE SCHEMA public");
  tx.exec0(sql);
}

int migration_fillfactor(const options& o) {
  pqxx::connection c(o.url);
  pqxx::nontransaction tx(c);
  auto r = tx.exec1(
      "SELECT coalesce((SELECT split_part(opt, '=', 2)::int FROM unnest(reloptions) opt "
      "WHERE opt LIKE 'fillfactor=%'), 100) FROM pg_class WHERE oid = 'sms_logs'::regclass");
  return r[0].as<int>();
}

// utime + stime of a local process, in seconds.
double process_cpu_seconds(int pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return -1;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  const std::string all(buf, n);
  auto close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::vector<std::string> fields = split(all.substr(close + 2), ' ');
  if (fields.size() < 13) return -1;
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return static_cast<double>(std::stoll(fields[11]) + std::stoll(fields[12])) /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct run_result {
  double seconds = 0;
  double rows_per_s = 0;
  double pg_cpu = 0;
  double client_cpu = 0;
  double wal_mb = 0;
  double fpi = 0;  // full-page images written (pg_stat_wal, the whole cluster: run it alone)
  double hot_pct = 0;
  long updates = 0;
  long events_added = 0;
  long rows_changed = 0;
  std::string checksum;
};

std::pair<long, long> update_counts(pqxx::connection& c) {
  pqxx::work tx(c);
  auto r = tx.exec1("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relid = 'sms_logs'::regclass");
  tx.commit();
  return {r[0].as<long>(), r[1].as<long>()};
}

// What every method must leave behind: the reported rows of sms_logs and all of dlr_events.
std::string checksum(const options& o) {
  pqxx::connection c(o.url);
  pqxx::work tx(c);
  auto r = tx.exec1(R"sql(
SELECT left(md5(
  coalesce((SELECT string_agg(concat_ws('|', message_id, status, raw_status, status_at, error_code, provider,
                               delivered_at, to_number, country_code, parts, cost_eur, failure_notice_mark IS NULL),
                     ',' ORDER BY message_id)
     FROM sms_logs WHERE status_at IS NOT NULL), '') ||
  coalesce((SELECT string_agg(concat_ws('|', message_id, status, raw_status, event_at, event_time_from_gateway,
                               received_at, provider, recipient, error_code, parts, cost),
                     ',' ORDER BY message_id, status, event_at, provider)
     FROM dlr_events), '')), 8))sql");
  return r[0].as<std::string>();
}

long wal_fpi(pqxx::connection& c) {
  pqxx::nontransaction tx(c);
  tx.exec("SELECT pg_stat_force_next_flush()");
  return tx.exec1("SELECT wal_fpi FROM pg_stat_wal")[0].as<long>();
}

struct workloads {
  std::vector<batch> measured, warm_up;
};

run_result run_once(const options& o, const variant& v, const workloads& w, int fillfactor,
                    const std::vector<std::string>& indexes) {
  const auto& work = w.measured;
  reset(o, v, fillfactor, indexes);
  pqxx::connection c(o.url);
  if (!v.session.empty()) {
    pqxx::nontransaction tx(c);
    tx.exec0(v.session);
  }
  if (v.how == method::copy) {
    pqxx::nontransaction tx(c);
    tx.exec0(stage_table_sql("upsert_stage_events", dlrd::store::events_columns()));
    tx.exec0(stage_table_sql("upsert_stage_winners", dlrd::store::winners_columns()));
  }
  c.prepare("upsert", statement_for(v.how));
  // The daemon's default: failed finals are noticed (dlr_alert_outbox), as in production.
  std::string notice = "{";
  for (const auto& st : dlrd::store::store_config{}.notice_statuses) notice += (notice.size() > 1 ? "," : "") + st;
  notice += "}";
  for (const auto& b : v.warm ? w.warm_up : std::vector<batch>{}) {
    pqxx::work tx(c);
    tx.exec_prepared1("upsert", json_array(b.winners), json_array(b.events), "[]", notice);
    tx.commit();
  }
  const long fpi0 = wal_fpi(c);
  int pid = 0;
  std::string lsn0;
  {
    pqxx::nontransaction tx(c);
    auto r = tx.exec1("SELECT pg_backend_pid(), pg_current_wal_lsn()::text");
    pid = r[0].as<int>();
    lsn0 = r[1].as<std::string>();
  }
  auto [upd0, hot0] = update_counts(c);

  run_result res;
  const std::vector<delivery_report> none;
  const double pg0 = process_cpu_seconds(pid);
  const double me0 = own_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (const auto& b : work) {
    pqxx::work tx(c);
    pqxx::row row;
    switch (v.how) {
      case method::json:
      case method::jsonb:
        row = tx.exec_prepared1("upsert", json_array(b.winners), json_array(v.history ? b.events : none), "[]",
                                notice);
        break;
      case method::unnest: {
        auto params = arrays(b.events, b.winners);
        params.push_back("[]");
        params.push_back(notice);
        row = tx.exec_prepared1("upsert", pqxx::prepare::make_dynamic_params(params));
        break;
      }
      case method::copy:
        copy_batch(tx, b.events, b.winners);
        row = tx.exec_prepared1("upsert", "[]", notice);
        break;
    }
    res.events_added += row[0].as<long>();
    res.rows_changed += row[1].as<long>();
    tx.commit();
  }
  const auto stop = std::chrono::steady_clock::now();
  res.client_cpu = own_cpu_seconds() - me0;
  res.pg_cpu = process_cpu_seconds(pid) - pg0;
  res.seconds = std::chrono::duration<double>(stop - start).count();
  res.rows_per_s = static_cast<double>(work.size() * static_cast<std::size_t>(o.batch_size)) / res.seconds;
  {
    pqxx::nontransaction tx(c);
    res.wal_mb = tx.exec1("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '" + lsn0 + "')")[0].as<double>() / 1048576.0;
    // Stats are flushed when the backend next goes idle, before it answers.
    tx.exec("SELECT pg_stat_force_next_flush()");
  }
  res.fpi = static_cast<double>(wal_fpi(c) - fpi0);
  auto [upd1, hot1] = update_counts(c);
  res.updates = upd1 - upd0;
  res.hot_pct = res.updates > 0 ? 100.0 * static_cast<double>(hot1 - hot0) / static_cast<double>(res.updates) : 0;
  res.checksum = checksum(o);
  return res;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void usage() {
  std::cout << "usage: dlrd-upsert-methods --url URL [--seed-rows N] [--batches N] [--batch-size N] [--runs N]\n"
               "                           [--duplicates F] [--schema FILE] [--methods json,jsonb,...]\n"
               "Migrates the database at URL, then truncates and re-seeds sms_logs before every run. --schema FILE\n"
               "first empties the public schema and runs FILE (bench/article_sms_logs.sql: the article's table).\n"
               "Methods: json jsonb unnest copy json-ff100, and with json: no-status-sent no-to-number\n"
               "no-final-status-at no-pending-since no-send-time hot no-history no-events-brin async walz-lz4\n"
               "walz-zstd warm warm-walz-lz4 explain (see bench/README.md).\n";
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (const char* u = std::getenv("DLRD_TEST_PG_URL")) o.url = u;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") o.url = next();
    else if (a == "--seed-rows") o.seed_rows = std::stol(next());
    else if (a == "--batches") o.batches = std::stoi(next());
    else if (a == "--batch-size") o.batch_size = std::stoi(next());
    else if (a == "--runs") o.runs = std::stoi(next());
    else if (a == "--duplicates") o.duplicates = std::stod(next());
    else if (a == "--schema") o.schema_file = next();
    else if (a == "--methods") {
      o.methods = split(next(), ',');
    } else {
      usage();
      return a == "-h" || a == "--help" ? 0 : 2;
    }
  }
  if (o.url.empty()) {
    usage();
    return 2;
  }
  try {
    if (!o.schema_file.empty()) start_from(o);
    dlrd::store::migrate(o.url);
    const int ff = migration_fillfactor(o);
    const auto indexes = droppable_indexes(o);
    // The article's index names are PostgreSQL's defaults for its unnamed CREATE INDEX statements.
    const std::string status_sent = "sms_logs_status_sent_at_idx";
    const std::map<std::string, variant> known{
        {"json", {"json_to_recordset (current)", method::json}},
        {"jsonb", {"jsonb_to_recordset", method::jsonb}},
        {"unnest", {"unnest(typed arrays)", method::unnest}},
        {"copy", {"COPY -> temp staging", method::copy}},
        {"json-ff100", {"fillfactor 100", method::json, 100}},
        {"no-status-sent", {"without the article's (status, sent_at DESC)", method::json, 0, {status_sent}}},
        {"no-to-number", {"without the article's (to_number, sent_at DESC)", method::json, 0,
                          {"sms_logs_to_number_sent_at_idx"}}},
        {"no-final-status-at", {"without idx_sms_logs_final_status_at", method::json, 0,
                                {"idx_sms_logs_final_status_at"}}},
        {"no-pending-since", {"without idx_sms_logs_pending_since", method::json, 0, {"idx_sms_logs_pending_since"}}},
        {"no-dlrd-status", {"without dlrd's two partial indexes on status (the article's kept)", method::json, 0,
                            {"idx_sms_logs_final_status_at", "idx_sms_logs_pending_since"}}},
        {"no-send-time", {"without idx_sms_logs_send_time", method::json, 0, {"idx_sms_logs_send_time"}}},
        {"hot", {"no index on status or status_at (HOT possible)", method::json, 0,
                 {status_sent, "idx_sms_logs_final_status_at", "idx_sms_logs_pending_since"}}},
        {"no-history", {"store.history off (no dlr_events)", method::json, 0, {}, "", false}},
        {"no-events-brin", {"without dlr_events_stored_at_brin", method::json, 0, {"dlr_events_stored_at_brin"}}},
        {"async", {"synchronous_commit off", method::json, 0, {}, "SET synchronous_commit = off"}},
        {"walz-lz4", {"wal_compression lz4", method::json, 0, {}, "SET wal_compression = lz4"}},
        {"walz-zstd", {"wal_compression zstd", method::json, 0, {}, "SET wal_compression = zstd"}},
        {"warm", {"warm: a pass since the checkpoint", method::json, 0, {}, "", true, true}},
        {"warm-walz-lz4", {"warm, wal_compression lz4", method::json, 0, {}, "SET wal_compression = lz4", true, true}},
        // Every batch's plan with its time, buffers and WAL per node, in the server's log.
        {"explain", {"json, plans in the server log", method::json, 0, {},
                     "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; "
                     "SET auto_explain.log_buffers = on; SET auto_explain.log_wal = on"}},
    };
    std::vector<variant> vs;
    for (const auto& m : o.methods) {
      auto it = known.find(m);
      if (it == known.end()) throw std::runtime_error("unknown method " + m);
      vs.push_back(it->second);
    }
    const workloads work{make_workload(o), make_workload(o, 5, std::chrono::hours(24))};
    std::cerr << "workload: " << work.measured.size() << " batches of " << o.batch_size << " reports; seed " << o.seed_rows
              << " sms_logs rows; sms_logs fillfactor from migrations " << ff << "\n";

    // Runs interleaved (each method once per round) so that drift on a shared machine spreads evenly.
    std::vector<std::vector<run_result>> results(vs.size());
    for (int round = 0; round < o.runs; ++round) {
      for (std::size_t m = 0; m < vs.size(); ++m) {
        auto r = run_once(o, vs[m], work, vs[m].fillfactor ? vs[m].fillfactor : ff, indexes);
        std::fprintf(stderr, "round %d %-34s %8.0f rows/s  %.2f s  pg cpu %.2f s  client cpu %.2f s  %s\n",
                     round + 1, vs[m].name.c_str(), r.rows_per_s, r.seconds, r.pg_cpu, r.client_cpu,
                     r.checksum.c_str());
        results[m].push_back(std::move(r));
      }
    }
    // Leave the table as the migrations made it.
    {
      pqxx::connection c(o.url);
      pqxx::nontransaction tx(c);
      tx.exec0("ALTER TABLE sms_logs SET (fillfactor = " + std::to_string(ff) + ")");
      for (const auto& def : indexes) tx.exec0(def);
    }

    const double reports = static_cast<double>(o.batches) * o.batch_size;
    std::printf("| Method | reports/s (median of %d) | min–max | PG backend CPU µs/report | CPU / first "
                "| client CPU µs/report | WAL bytes/report | WAL / first | full-page images/report "
                "| sms_logs updates, HOT %% | events added, rows changed | state checksum |\n",
                o.runs);
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    auto median_of = [&](std::size_t m, auto f) {
      std::vector<double> v;
      for (const auto& r : results[m]) v.push_back(f(r));
      return median(v);
    };
    const auto cpu = [](const run_result& r) { return r.pg_cpu; };
    const auto wal = [](const run_result& r) { return r.wal_mb; };
    for (std::size_t m = 0; m < vs.size(); ++m) {
      auto col = [&](auto f) {
        std::vector<double> v;
        for (const auto& r : results[m]) v.push_back(f(r));
        return v;
      };
      auto rate = col([](const run_result& r) { return r.rows_per_s; });
      std::string sums;
      for (const auto& r : results[m]) {
        if (sums.find(r.checksum) == std::string::npos) sums += (sums.empty() ? "" : " ") + r.checksum;
      }
      const auto& first = results[m].front();
      std::printf("| %s | %.0f | %.0f–%.0f | %.1f | %.2f | %.1f | %.0f | %.2f | %.2f | %ld, %.0f%% | %ld, %ld | %s |\n",
                  vs[m].name.c_str(), median(rate), *std::min_element(rate.begin(), rate.end()),
                  *std::max_element(rate.begin(), rate.end()), median_of(m, cpu) * 1e6 / reports,
                  median_of(m, cpu) / median_of(0, cpu),
                  median(col([](const run_result& r) { return r.client_cpu; })) * 1e6 / reports,
                  median_of(m, wal) * 1048576.0 / reports, median_of(m, wal) / median_of(0, wal),
                  median(col([](const run_result& r) { return r.fpi; })) / reports, first.updates,
                  median(col([](const run_result& r) { return r.hot_pct; })), first.events_added, first.rows_changed,
                  sums.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "dlrd-upsert-methods: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
