// Measures dlrd's batch write statement with four ways of passing the batch (issue 4): json, jsonb, unnest arrays, COPY.
#include <dlrd/report/report.hpp>
#include <dlrd/report/time.hpp>
#include <dlrd/store/batch_json.hpp>
#include <dlrd/store/migrations.hpp>
#include <dlrd/store/writer.hpp>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::status;

// ------------------------------------------------------------------ the statement
// The text of write_statement_head in src/store/writer.cpp with only the three batch sources
// (events, winners, quarantine) left as placeholders @EV@, @UP@ and @Q@.
constexpr const char* statement_template = R"sql(
WITH
ev AS (
  INSERT INTO dlr_events (message_id, status, raw_status, event_at, event_time_from_gateway,
                          received_at, provider, recipient, error_code, parts, cost)
  SELECT e.message_id, e.status, e.raw_status, e.event_at, e.from_gateway,
         e.received_at, e.provider, e.recipient, e.error_code, e.parts, e.cost
    FROM @EV@
  ON CONFLICT (message_id, status, event_at, provider) DO NOTHING
  RETURNING 1
),
up AS (
  INSERT INTO sms_logs AS s (message_id, status, raw_status, status_at, error_code, provider,
                             to_number, from_number, parts, cost_eur, delivered_at, sent_at,
                             created_at, updated_at)
  SELECT w.message_id, w.status, w.raw_status, w.event_at, w.error_code, w.provider,
         w.recipient, w.sender, w.parts, w.cost,
         CASE WHEN w.status = 'delivered' THEN w.event_at END, NULL, now(), now()
    FROM @UP@
  ON CONFLICT (message_id) DO UPDATE SET
    status = excluded.status,
    raw_status = excluded.raw_status,
    status_at = excluded.status_at,
    error_code = excluded.error_code,
    provider = excluded.provider,
    delivered_at = CASE WHEN excluded.status = 'delivered' THEN excluded.status_at ELSE s.delivered_at END,
    to_number = coalesce(s.to_number, excluded.to_number),
    from_number = coalesce(s.from_number, excluded.from_number),
    parts = coalesce(s.parts, excluded.parts),
    cost_eur = coalesce(s.cost_eur, excluded.cost_eur),
    updated_at = now()
  WHERE (dlr_status_class(excluded.status), excluded.status_at, dlr_status_ordinal(excluded.status),
         excluded.raw_status COLLATE "C", coalesce(excluded.error_code, '') COLLATE "C")
      > (dlr_status_class(s.status), coalesce(s.status_at, '-infinity'), dlr_status_ordinal(s.status),
         coalesce(s.raw_status, '') COLLATE "C", coalesce(s.error_code, '') COLLATE "C")
  RETURNING 1
),
q AS (
  INSERT INTO dlr_quarantine (received_at, provider, reason, field, content_type, body)
  SELECT q.received_at, q.provider, q.reason, q.field, q.content_type, decode(q.body_hex, 'hex')
    FROM @Q@
  RETURNING 1
)
SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM up), (SELECT count(*) FROM q))sql";

constexpr const char* events_columns =
    "e(message_id text, status text, raw_status text,\n"
    "         event_at timestamptz, from_gateway boolean, received_at timestamptz, provider text,\n"
    "         recipient text, error_code text, parts int, cost numeric)";
constexpr const char* winners_columns =
    "w(message_id text, status text, raw_status text,\n"
    "         event_at timestamptz, provider text, recipient text, sender text, error_code text,\n"
    "         parts int, cost numeric)";
constexpr const char* quarantine_columns =
    "q(received_at timestamptz, provider text, reason text,\n"
    "         field text, content_type text, body_hex text)";

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

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string make_statement(const std::string& ev, const std::string& up, const std::string& q) {
  return replace_all(replace_all(replace_all(statement_template, "@EV@", ev), "@UP@", up), "@Q@", q);
}

enum class method { json, jsonb, unnest, copy };

struct variant {
  std::string name;
  method how;
  int fillfactor;  // 0: the migration's own setting
};

std::string statement_for(method how) {
  switch (how) {
    case method::json:
      return make_statement(std::string("json_to_recordset($2::json) AS ") + events_columns,
                            std::string("json_to_recordset($1::json) AS ") + winners_columns,
                            std::string("json_to_recordset($3::json) AS ") + quarantine_columns);
    case method::jsonb:
      return make_statement(std::string("jsonb_to_recordset($2::jsonb) AS ") + events_columns,
                            std::string("jsonb_to_recordset($1::jsonb) AS ") + winners_columns,
                            std::string("jsonb_to_recordset($3::jsonb) AS ") + quarantine_columns);
    case method::unnest:
      return make_statement(
          "unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[], $6::timestamptz[],\n"
          "           $7::text[], $8::text[], $9::text[], $10::int[], $11::numeric[])\n"
          "         AS e(message_id, status, raw_status, event_at, from_gateway, received_at, provider,\n"
          "              recipient, error_code, parts, cost)",
          "unnest($12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::text[], $17::text[],\n"
          "           $18::text[], $19::text[], $20::int[], $21::numeric[])\n"
          "         AS w(message_id, status, raw_status, event_at, provider, recipient, sender, error_code,\n"
          "              parts, cost)",
          // The workload has no quarantine rows; this source stays as in the writer.
          std::string("json_to_recordset($22::json) AS ") + quarantine_columns);
    case method::copy:
      return make_statement("upsert_stage_events AS e", "upsert_stage_winners AS w",
                            std::string("json_to_recordset($1::json) AS ") + quarantine_columns);
  }
  return {};
}

constexpr const char* stage_tables_sql = R"sql(
CREATE TEMP TABLE upsert_stage_events (message_id text, status text, raw_status text, event_at timestamptz,
  from_gateway boolean, received_at timestamptz, provider text, recipient text, error_code text,
  parts int, cost numeric) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE upsert_stage_winners (message_id text, status text, raw_status text, event_at timestamptz,
  provider text, recipient text, sender text, error_code text, parts int, cost numeric) ON COMMIT DELETE ROWS)sql";

// ------------------------------------------------------------------ encodings
// JSON text exactly as the writer builds it.
std::string json_array(const std::vector<delivery_report>& rs) { return dlrd::store::reports_json(rs); }

// One PostgreSQL array literal, built element by element: every element double-quoted with
// '"' and '\' escaped, NULL unquoted.
class array_literal {
 public:
  void add(std::string_view v) {
    sep();
    text_.push_back('"');
    for (char c : v) {
      if (c == '"' || c == '\\') text_.push_back('\\');
      text_.push_back(c);
    }
    text_.push_back('"');
  }
  void add(const std::optional<std::string>& v) {
    if (v) add(std::string_view(*v)); else add_null();
  }
  void add(const std::optional<std::int32_t>& v) {
    if (v) add_raw(std::to_string(*v)); else add_null();
  }
  void add(bool v) { add_raw(v ? "t" : "f"); }
  void add_null() { add_raw("NULL"); }
  std::string done() {
    text_.push_back('}');
    return std::move(text_);
  }

 private:
  void add_raw(std::string_view v) {
    sep();
    text_ += v;
  }
  void sep() {
    if (text_.size() > 1) text_.push_back(',');
  }
  std::string text_ = "{";
};

struct array_params {
  std::vector<std::string> events;   // 11 arrays
  std::vector<std::string> winners;  // 10 arrays
};

array_params arrays(const std::vector<delivery_report>& events, const std::vector<delivery_report>& winners) {
  array_params p;
  {
    std::vector<array_literal> a(11);
    for (const auto& r : events) {
      a[0].add(std::string_view(r.message_id));
      a[1].add(dlrd::report::to_string(r.canonical));
      a[2].add(std::string_view(r.raw_status));
      a[3].add(std::string_view(dlrd::report::format_timestamp(r.event_at)));
      a[4].add(r.event_time_from_gateway);
      a[5].add(std::string_view(dlrd::report::format_timestamp(r.received_at)));
      a[6].add(std::string_view(r.provider));
      a[7].add(r.recipient);
      a[8].add(r.error_code);
      a[9].add(r.parts);
      a[10].add(r.cost);
    }
    for (auto& x : a) p.events.push_back(x.done());
  }
  {
    std::vector<array_literal> a(10);
    for (const auto& r : winners) {
      a[0].add(std::string_view(r.message_id));
      a[1].add(dlrd::report::to_string(r.canonical));
      a[2].add(std::string_view(r.raw_status));
      a[3].add(std::string_view(dlrd::report::format_timestamp(r.event_at)));
      a[4].add(std::string_view(r.provider));
      a[5].add(r.recipient);
      a[6].add(r.sender);
      a[7].add(r.error_code);
      a[8].add(r.parts);
      a[9].add(r.cost);
    }
    for (auto& x : a) p.winners.push_back(x.done());
  }
  return p;
}

// stream_to writes a NULL for a null const char*.
const char* or_null(const std::optional<std::string>& v) { return v ? v->c_str() : nullptr; }

void copy_batch(pqxx::transaction_base& tx, const std::vector<delivery_report>& events,
                const std::vector<delivery_report>& winners) {
  {
    pqxx::stream_to s(tx, "upsert_stage_events");
    for (const auto& r : events) {
      std::string parts = r.parts ? std::to_string(*r.parts) : std::string();
      s << std::make_tuple(r.message_id, std::string(dlrd::report::to_string(r.canonical)), r.raw_status,
                           dlrd::report::format_timestamp(r.event_at), r.event_time_from_gateway,
                           dlrd::report::format_timestamp(r.received_at), r.provider, or_null(r.recipient),
                           or_null(r.error_code), r.parts ? parts.c_str() : nullptr, or_null(r.cost));
    }
    s.complete();
  }
  {
    pqxx::stream_to s(tx, "upsert_stage_winners");
    for (const auto& r : winners) {
      std::string parts = r.parts ? std::to_string(*r.parts) : std::string();
      s << std::make_tuple(r.message_id, std::string(dlrd::report::to_string(r.canonical)), r.raw_status,
                           dlrd::report::format_timestamp(r.event_at), r.provider, or_null(r.recipient),
                           or_null(r.sender), or_null(r.error_code), r.parts ? parts.c_str() : nullptr,
                           or_null(r.cost));
    }
    s.complete();
  }
}

// ------------------------------------------------------------------ the workload
struct options {
  std::string url;
  long seed_rows = 500000;
  int batches = 100;
  int batch_size = 1000;
  int runs = 3;
  double duplicates = 0.10;
  std::vector<std::string> methods{"json", "jsonb", "unnest", "copy", "json-ff100"};
};

struct batch {
  std::vector<delivery_report> winners;  // merged by dlrd's own merge_batch, sorted by message_id
  std::vector<delivery_report> events;   // every report, sorted by the writer's event key
};

// Deterministic: every method and run writes exactly the same reports.
std::vector<batch> make_workload(const options& o) {
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::uniform_int_distribution<long> id(1, o.seed_rows);
  const auto t0 = dlrd::report::time_point(std::chrono::sys_days(std::chrono::year(2026) / 1 / 1));
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
// Same table contents before every run: the seeded sends, no reports, no events.
void reset(const options& o, int fillfactor) {
  pqxx::connection c(o.url);
  pqxx::nontransaction tx(c);
  tx.exec0("TRUNCATE sms_logs, dlr_events, dlr_quarantine RESTART IDENTITY");
  tx.exec0("ALTER TABLE sms_logs SET (fillfactor = " + std::to_string(fillfactor) + ")");
  tx.exec0(R"sql(
INSERT INTO sms_logs (message_id, to_number, from_number, text_preview, sent_at, parts, cost_eur, country_code, status,
                      created_at, updated_at)
SELECT 'bench-' || g, '+4477' || lpad((g % 100000000)::text, 8, '0'), 'DLRD', 'Your code is ' || (g % 1000000),
       timestamptz '2025-12-31 23:00:00+00', 1, 0.0450, 'GB', 'pending', now(), now()
  FROM generate_series(1, )sql" + std::to_string(o.seed_rows) + ") g");
  tx.exec0("VACUUM ANALYZE sms_logs");
  tx.exec0("VACUUM ANALYZE dlr_events");
  tx.exec0("CHECKPOINT");
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
  (SELECT string_agg(concat_ws('|', message_id, status, raw_status, status_at, error_code, provider,
                               delivered_at, recipient, parts, cost), ',' ORDER BY message_id)
     FROM sms_logs WHERE status_at IS NOT NULL) ||
  (SELECT string_agg(concat_ws('|', message_id, status, raw_status, event_at, event_time_from_gateway,
                               received_at, provider, recipient, error_code, parts, cost),
                     ',' ORDER BY message_id, status, event_at, provider)
     FROM dlr_events)), 8))sql");
  return r[0].as<std::string>();
}

run_result run_once(const options& o, const variant& v, const std::vector<batch>& work, int fillfactor) {
  reset(o, fillfactor);
  pqxx::connection c(o.url);
  if (v.how == method::copy) {
    pqxx::nontransaction tx(c);
    tx.exec0(stage_tables_sql);
  }
  c.prepare("upsert", statement_for(v.how));
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
  const double pg0 = process_cpu_seconds(pid);
  const double me0 = own_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  for (const auto& b : work) {
    pqxx::work tx(c);
    pqxx::row row;
    switch (v.how) {
      case method::json:
      case method::jsonb:
        row = tx.exec_prepared1("upsert", json_array(b.winners), json_array(b.events), "[]");
        break;
      case method::unnest: {
        auto a = arrays(b.events, b.winners);
        const auto& e = a.events;
        const auto& w = a.winners;
        row = tx.exec_prepared1("upsert", e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], w[0],
                                w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], "[]");
        break;
      }
      case method::copy:
        copy_batch(tx, b.events, b.winners);
        row = tx.exec_prepared1("upsert", "[]");
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
               "                           [--duplicates F] [--methods json,jsonb,unnest,copy,json-ff100]\n"
               "Migrates the database at URL, then truncates and re-seeds sms_logs before every run.\n";
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
    dlrd::store::migrate(o.url);
    const int ff = migration_fillfactor(o);
    const std::map<std::string, variant> known{
        {"json", {"json_to_recordset (current)", method::json, 0}},
        {"jsonb", {"jsonb_to_recordset", method::jsonb, 0}},
        {"unnest", {"unnest(typed arrays)", method::unnest, 0}},
        {"copy", {"COPY -> temp staging", method::copy, 0}},
        {"json-ff100", {"json_to_recordset, fillfactor 100", method::json, 100}},
    };
    std::vector<variant> vs;
    for (const auto& m : o.methods) {
      auto it = known.find(m);
      if (it == known.end()) throw std::runtime_error("unknown method " + m);
      vs.push_back(it->second);
    }
    const auto work = make_workload(o);
    std::cerr << "workload: " << work.size() << " batches of " << o.batch_size << " reports; seed " << o.seed_rows
              << " sms_logs rows; sms_logs fillfactor from migrations " << ff << "\n";

    // Runs interleaved (each method once per round) so that drift on a shared machine spreads evenly.
    std::vector<std::vector<run_result>> results(vs.size());
    for (int round = 0; round < o.runs; ++round) {
      for (std::size_t m = 0; m < vs.size(); ++m) {
        auto r = run_once(o, vs[m], work, vs[m].fillfactor ? vs[m].fillfactor : ff);
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
    }

    const double reports = static_cast<double>(o.batches) * o.batch_size;
    std::printf("| Method | reports/s (median of %d) | min–max | PG backend CPU µs/report | client CPU µs/report "
                "| WAL MB | sms_logs updates, HOT %% | events added, rows changed | state checksum |\n",
                o.runs);
    std::printf("|---|---|---|---|---|---|---|---|---|\n");
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
      std::printf("| %s | %.0f | %.0f–%.0f | %.1f | %.1f | %.0f | %ld, %.0f%% | %ld, %ld | %s |\n", vs[m].name.c_str(),
                  median(rate), *std::min_element(rate.begin(), rate.end()),
                  *std::max_element(rate.begin(), rate.end()),
                  median(col([](const run_result& r) { return r.pg_cpu; })) * 1e6 / reports,
                  median(col([](const run_result& r) { return r.client_cpu; })) * 1e6 / reports,
                  median(col([](const run_result& r) { return r.wal_mb; })), first.updates,
                  median(col([](const run_result& r) { return r.hot_pct; })), first.events_added, first.rows_changed,
                  sums.c_str());
    }
  } catch (const std::exception& e) {
    std::cerr << "dlrd-upsert-methods: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
