// Writes batches of ingest records to PostgreSQL: merged in memory, one set-based statement
// per transaction, retried on connection loss, and poison records set aside in quarantine.
#include <dlrd/store/writer.hpp>

#include "pg.hpp"

#include <dlrd/store/batch_json.hpp>
#include <dlrd/store/write_statement.hpp>

#include <dlrd/report/time.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace dlrd::store {

namespace {

using report::delivery_report;
using report::quarantined_payload;
using json = nlohmann::json;
using std::chrono::milliseconds;

// Ties on order_key differ only in columns the rule does not rank (provider, recipient, ...);
// ranking them too makes the merged batch independent of arrival order.
auto full_key(const delivery_report& r) {
  return std::tuple_cat(report::order_key(r),
                        std::make_tuple(std::string_view(r.provider), r.received_at, r.event_time_from_gateway,
                                        r.recipient, r.sender, r.parts, r.cost));
}

constexpr const char* parts_statement_name = "dlrd_write_parts";

// Applies to this transaction only (like SET LOCAL) without costing a round trip of its own.
constexpr const char* async_commit_term = ", set_config('synchronous_commit', 'off', true)";

constexpr const char* write_statement_name = "dlrd_write_batch";

// Read right after an asynchronous COMMIT returns: the insert position is at or past its
// commit record (the server has no cheaper way to name it); the flush position tells how
// far earlier commits are safe. `pg_lsn - pg_lsn` is a byte count, from the log's start.
constexpr const char* wal_position_name = "dlrd_wal_position";
constexpr const char* wal_position_text =
    "SELECT (pg_current_wal_insert_lsn() - '0/0')::int8, (pg_current_wal_flush_lsn() - '0/0')::int8";

// Which server a new connection reached, to notice a failover: the system identifier (one per
// cluster; a physical standby shares its primary's) and the timeline (a promoted standby, or a
// point-in-time recovery, starts a new one; read from the current WAL file's name, which needs
// no privilege). Not the address: "localhost" may reach one server over IPv4 or IPv6.
constexpr const char* server_identity_query =
    "SELECT 'system ' || system_identifier || ' timeline ' || "
    "ltrim(substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8), '0') FROM pg_control_system()";

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 0xf]);
  }
  return out;
}

json quarantine_json(const quarantined_payload& p) {
  return json{
      {"received_at", report::format_timestamp(p.received_at)},
      {"provider", p.provider},
      {"reason", p.reason},
      {"field", p.field},
      {"content_type", p.content_type},
      {"body_hex", hex(p.body)},
  };
}

// Text columns take UTF-8 only; a byte the gateway got wrong must not fail the batch.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The statement's three parameters for a set of records.
struct batch_params {
  std::string notice_statuses = "{}";  // a text[] literal of canonical names (no quoting needed)
  std::string winners = "[]";
  std::string events = "[]";
  std::string quarantine = "[]";
  std::size_t reports = 0;
};

batch_params make_params(std::span<const report::ingest_record> batch, const store_config& config) {
  const bool history = config.history;
  std::vector<delivery_report> reports;
  json quarantine = json::array();
  for (const auto& rec : batch) {
    if (const auto* r = std::get_if<delivery_report>(&rec)) {
      reports.push_back(*r);
    } else {
      quarantine.push_back(quarantine_json(std::get<quarantined_payload>(rec)));
    }
  }
  batch_params p;
  p.notice_statuses = "{";
  for (const auto& st : config.notice_statuses) {
    if (p.notice_statuses.size() > 1) p.notice_statuses += ',';
    p.notice_statuses += st;
  }
  p.notice_statuses += '}';
  p.reports = reports.size();
  p.quarantine = dump(quarantine);
  p.winners = reports_json(merge_batch(reports));
  if (history) {
    // Same key order in every writer, so two writers never wait on each other's events in a cycle.
    std::sort(reports.begin(), reports.end(), [](const delivery_report& a, const delivery_report& b) {
      return std::tie(a.message_id, a.canonical, a.event_at, a.provider) <
             std::tie(b.message_id, b.canonical, b.event_at, b.provider);
    });
    p.events = reports_json(reports);
  }
  return p;
}

// SQLSTATE classes that belong to one record's values, not to the batch or the server.
bool is_data_error(const std::string& state) {
  return state.starts_with("22") || state.starts_with("23") || state.starts_with("54");
}

// The server's message without libpq's "ERROR:  " prefix and trailing newline, for one-line logs.
std::string message_of(const std::exception& e) {
  std::string_view m = e.what();
  for (std::string_view prefix : {"ERROR:", "FATAL:"}) {
    if (m.starts_with(prefix)) m.remove_prefix(prefix.size());
  }
  while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
  auto end = m.find('\n');
  return std::string(m.substr(0, end));
}

// PostgreSQL text cannot hold NUL; the quarantine row for a poison record must always fit.
std::string without_nul(std::string s) {
  std::erase(s, '\0');
  return s;
}

// A report PostgreSQL refuses is kept as JSON in quarantine (the body is bytea, so any byte
// survives), with the server's reason.
quarantined_payload poison(const report::ingest_record& rec, const pqxx::sql_error& e) {
  std::string reason = without_nul("store: " + e.sqlstate() + ": " + message_of(e));
  if (const auto* r = std::get_if<delivery_report>(&rec)) {
    std::string body;  // the same JSON the write statement reads
    append_report_json(body, *r);
    return quarantined_payload{without_nul(r->provider), reason, "", "application/json", std::move(body),
                               r->received_at};
  }
  auto p = std::get<quarantined_payload>(rec);
  return quarantined_payload{without_nul(p.provider), reason + " (" + without_nul(p.reason) + ")",
                             without_nul(p.field), without_nul(p.content_type), std::move(p.body), p.received_at};
}


}  // namespace

std::vector<delivery_report> merge_batch(std::span<const delivery_report> reports) {
  std::vector<const delivery_report*> sorted;
  sorted.reserve(reports.size());
  for (const auto& r : reports) sorted.push_back(&r);
  // By message_id, best report first within each message.
  std::sort(sorted.begin(), sorted.end(), [](const delivery_report* a, const delivery_report* b) {
    if (a->message_id != b->message_id) return a->message_id < b->message_id;
    return full_key(*a) > full_key(*b);
  });
  std::vector<delivery_report> winners;
  for (const auto* r : sorted) {
    if (winners.empty() || winners.back().message_id != r->message_id) winners.push_back(*r);
  }
  return winners;
}

struct writer::impl {
  database_config db;
  store_config config;
  std::string statement;
  std::unique_ptr<pqxx::connection> conn;
  std::uint64_t conn_id = 0;  // connections_opened when conn was opened
  server_id server;

  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> attempts{0}, errors{0}, connections_opened{0};
  std::atomic<std::int64_t> alive{std::chrono::steady_clock::now().time_since_epoch().count()};

  void beat() { alive = std::chrono::steady_clock::now().time_since_epoch().count(); }
  mutable std::mutex error_mutex;
  std::string error;

  // Rate limit for failure logs: one line when trouble starts, then a reminder now and then.
  bool failing = false;
  std::size_t failed_attempts = 0;
  std::chrono::steady_clock::time_point last_log{};

  impl(database_config d, store_config c) : db(std::move(d)), config(c) {
    auto sources = json_batch_sources();
    // Rule names are config text: a quoted literal, fixed for the writer's life like the rest.
    std::string quiet;
    for (char ch : pg_array(config.quiet_expiries)) quiet += ch == '\'' ? "''" : std::string(1, ch);
    sources.quiet_expiries = "'" + quiet + "'::text[]";
    statement = write_statement(sources);
    if (!config.synchronous_commit) statement += async_commit_term;
  }

  pqxx::connection& connection() {
    if (!conn || !conn->is_open()) {
      conn.reset();
      auto c = std::make_unique<pqxx::connection>(connection_string(db));
      c->prepare(write_statement_name, statement);
      c->prepare(parts_statement_name, parts_statement());
      if (!config.synchronous_commit) c->prepare(wal_position_name, wal_position_text);
      {
        pqxx::nontransaction tx(*c);
        server.identity = tx.exec1(server_identity_query)[0].as<std::string>();
      }
      conn = std::move(c);
      conn_id = ++connections_opened;
      server.opened_at = std::chrono::steady_clock::now();
    }
    return *conn;
  }

  static write_outcome run(pqxx::transaction_base& tx, const batch_params& p) {
    auto row = tx.exec_prepared1(write_statement_name, p.winners, p.events, p.quarantine, p.notice_statuses);
    write_outcome out;
    out.statements = 1;
    out.events_added = row[0].as<std::size_t>();
    out.rows_changed = row[1].as<std::size_t>();
    out.quarantined = row[2].as<std::size_t>();
    out.notices = row[3].as<std::size_t>();
    out.waiters_woken = row[4].as<std::size_t>();
    if (auto parents = row[5].as<std::string>(); parents != "[]") {
      auto agg = tx.exec_prepared1(parts_statement_name, parents, p.notice_statuses);
      out.rows_changed += agg[0].as<std::size_t>();
      out.notices += agg[1].as<std::size_t>();
      out.waiters_woken += agg[2].as<std::size_t>();
    }
    return out;
  }

  write_outcome write_set(const batch_params& p) {
    pqxx::work tx(connection());
    auto out = run(tx, p);
    tx.commit();
    read_position(out);
    return out;
  }

  // A failure here fails the attempt: the batch is written again, which is harmless.
  void read_position(write_outcome& out) {
    if (config.synchronous_commit) return;
    pqxx::nontransaction tx(*conn);
    auto row = tx.exec_prepared1(wal_position_name);
    out.committed_at = wal_position{conn_id, row[0].as<std::uint64_t>()};
    out.flushed_lsn = row[1].as<std::uint64_t>();
  }

  wal_position flushed(bool force) {
    try {
      auto& c = connection();
      if (force) {
        pqxx::work tx(c);
        tx.exec0("SET LOCAL synchronous_commit = on");
        // A transaction that wrote no WAL commits without a flush; this message is a WAL
        // record of its own (no table touched), so the commit flushes all WAL before it.
        tx.exec1("SELECT pg_logical_emit_message(true, 'dlrd', 'flush')");
        tx.commit();
      }
      pqxx::nontransaction tx(c);
      auto row = tx.exec_prepared1(wal_position_name);
      return wal_position{conn_id, row[1].as<std::uint64_t>()};
    } catch (const pqxx::broken_connection& e) {
      failed(message_of(e), true);
    } catch (const std::exception& e) {
      failed(message_of(e), !conn || !conn->is_open());
    }
    return {};
  }

  // After a data error: the batch is split in halves, each written under a savepoint, down to
  // the records PostgreSQL refuses on their own, which go to quarantine. k refused records
  // cost O(k log n) statements, not n; every savepoint is released, rolled back or not, so
  // the transaction never holds more than one open subtransaction at a time.
  write_outcome write_bisecting(std::span<const report::ingest_record> batch) {
    pqxx::work tx(connection());
    write_outcome total;
    halves(tx, batch, total);  // the whole batch was just refused
    tx.commit();
    read_position(total);
    return total;
  }

  void halves(pqxx::transaction_base& tx, std::span<const report::ingest_record> part, write_outcome& total) {
    const auto half = part.size() / 2;
    bisect(tx, part.first(half), total);
    bisect(tx, part.subspan(half), total);
  }

  void bisect(pqxx::transaction_base& tx, std::span<const report::ingest_record> part, write_outcome& total) {
    if (part.empty()) return;
    try {
      tx.exec0("SAVEPOINT dlrd_part");
      add(total, run(tx, make_params(part, config)));
      tx.exec0("RELEASE SAVEPOINT dlrd_part");
      return;
    } catch (const pqxx::sql_error& e) {
      if (!is_data_error(e.sqlstate())) throw;
      tx.exec0("ROLLBACK TO SAVEPOINT dlrd_part");
      tx.exec0("RELEASE SAVEPOINT dlrd_part");
      if (part.size() == 1) {
        spdlog::warn("store: record quarantined: {}: {}", e.sqlstate(), message_of(e));
        report::ingest_record bad = poison(part.front(), e);
        add(total, run(tx, make_params(std::span(&bad, 1), config)));
        return;
      }
    }
    halves(tx, part, total);
  }

  static void add(write_outcome& total, const write_outcome& out) {
    total.events_added += out.events_added;
    total.rows_changed += out.rows_changed;
    total.quarantined += out.quarantined;
    total.notices += out.notices;
    total.waiters_woken += out.waiters_woken;
    total.statements += out.statements;
  }

  write_outcome attempt(std::span<const report::ingest_record> batch, const batch_params& p) {
    try {
      return write_set(p);
    } catch (const pqxx::sql_error& e) {
      if (!is_data_error(e.sqlstate()) || !conn || !conn->is_open()) throw;
      return write_bisecting(batch);
    }
  }

  void set_error(std::string e) {
    std::lock_guard lock(error_mutex);
    error = std::move(e);
  }

  void succeeded() {
    if (failing) {
      spdlog::info("store: PostgreSQL writes resumed after {} failed attempt(s)", failed_attempts);
    }
    failing = false;
    failed_attempts = 0;
    connected = true;
    set_error({});
  }

  void failed(const std::string& what, bool connection_lost) {
    // Any other error came from the server, so the database was reached.
    connected = !connection_lost;
    if (connection_lost) conn.reset();
    ++errors;
    beat();
    set_error(what);
    ++failed_attempts;
    auto now = std::chrono::steady_clock::now();
    if (!failing) {
      spdlog::warn("store: {}: {}; retrying", connection_lost ? "lost PostgreSQL connection" : "batch failed", what);
      last_log = now;
    } else if (now - last_log > std::chrono::seconds(30)) {
      spdlog::warn("store: still failing after {} attempts: {}", failed_attempts, what);
      last_log = now;
    }
    failing = true;
  }

  // Sleeps in short steps so that a stop request is noticed quickly.
  void sleep_for(milliseconds total, const std::atomic<bool>& stop) {
    auto deadline = std::chrono::steady_clock::now() + total;
    while (!stop && std::chrono::steady_clock::now() < deadline) {
      beat();
      std::this_thread::sleep_for(std::min(milliseconds(20), total));
    }
    beat();
  }
};

writer::writer(database_config db, store_config config)
    : impl_(std::make_unique<impl>(std::move(db), config)) {}

writer::~writer() = default;

write_outcome writer::write(std::span<const report::ingest_record> batch, const std::atomic<bool>& stop) {
  const auto params = make_params(batch, impl_->config);
  // store's retry policy decides what a failure means and how long to wait; unlike a typed
  // function the writer never gives up (the spool holds the batch): it retries until stopped.
  const retry_policy policy{.attempts = 1, .backoff = milliseconds(50),
                            .backoff_max = std::max(impl_->config.retry_backoff_max, milliseconds(1)),
                            .replay_safe = true};
  for (int attempt = 1;; ++attempt) {
    try {
      ++impl_->attempts;
      impl_->beat();
      auto out = impl_->attempt(batch, params);
      impl_->beat();
      out.reports = params.reports;
      impl_->succeeded();
      return out;
    } catch (const pqxx::failure& e) {
      // A commit whose outcome is unknown is written again: events are deduplicated by their
      // key and the upsert only moves a row to a strictly greater state.
      impl_->failed(message_of(e), drops_connection(classify(e)) || !impl_->conn || !impl_->conn->is_open());
    }
    if (stop) throw std::runtime_error("store: stopped before the batch was written: " + last_error());
    impl_->sleep_for(policy.wait_after(attempt), stop);
  }
}

wal_position writer::flushed(bool force) {
  impl_->beat();
  auto at = impl_->flushed(force);
  impl_->beat();
  return at;
}

bool writer::connected() const { return impl_->connected; }

const server_id& writer::server() const { return impl_->server; }

void writer::disconnect() { impl_->conn.reset(); }

writer_counters writer::counters() const {
  writer_counters c;
  c.attempts = impl_->attempts;
  c.errors = impl_->errors;
  auto opened = impl_->connections_opened.load();
  c.reconnects = opened > 0 ? opened - 1 : 0;
  return c;
}

std::chrono::steady_clock::time_point writer::alive_at() const {
  return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(impl_->alive.load()));
}

std::string writer::last_error() const {
  std::lock_guard lock(impl_->error_mutex);
  return impl_->error;
}

}  // namespace dlrd::store
