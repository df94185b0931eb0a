// Applies and checks the embedded schema migrations (sql/*.sql), tracked in dlr_schema_migrations.
#include <dlrd/store/migrations.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <set>
#include <utility>

namespace dlrd::store {

namespace {

// Fixed key shared by every dlrd: concurrent `dlrd migrate` runs apply each migration once.
constexpr long long migrate_lock_key = 0x646c7264'6d696772;  // "dlrdmigr"

constexpr const char* create_tracking_table =
    "CREATE TABLE IF NOT EXISTS dlr_schema_migrations ("
    "  name text PRIMARY KEY,"
    "  applied_at timestamptz DEFAULT now())";

std::set<std::string> applied_names(pqxx::transaction_base& tx) {
  std::set<std::string> names;
  for (const auto& row : tx.exec("SELECT name FROM dlr_schema_migrations")) {
    names.insert(row[0].as<std::string>());
  }
  return names;
}

// The seed article's names and the names 0001..0012 were written with (0013 renames back).
constexpr std::pair<const char*, const char*> article_to_legacy[] = {
    {"to_number", "recipient"},  {"from_number", "sender"}, {"text_preview", "message"},
    {"country_code", "country"}, {"cost_eur", "cost"},
};

// A plain index on message_id alone: it repeats the UNIQUE constraint's own index.
constexpr const char* repeats_unique_message_id =
    "(NOT i.indisunique AND i.indnatts = 1 AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indkey[0] = "
    " (SELECT attnum FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass AND attname = 'message_id'))";

bool has_column(pqxx::transaction_base& tx, const std::string& column) {
  return tx.exec_params1("SELECT count(*) FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass "
                         "AND attname = $1 AND attnum > 0 AND NOT attisdropped",
                         column)[0]
             .as<int>() > 0;
}

// Prepares an application's sms_logs for the first migration; returns what it changed.
std::vector<std::string> adopt(pqxx::transaction_base& tx) {
  std::vector<std::string> notes;
  if (!tx.exec1("SELECT to_regclass('sms_logs') IS NOT NULL")[0].as<bool>()) return notes;
  notes.push_back("adopting the existing sms_logs table: every row and value is kept");
  auto kept = tx.exec(
      "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
      " WHERE i.indrelid = 'sms_logs'::regclass AND NOT i.indisprimary AND NOT i.indisunique AND NOT " +
      std::string(repeats_unique_message_id) + " ORDER BY 1");
  for (const auto& row : kept) {
    auto def = row[1].as<std::string>();
    auto how = def.substr(def.find(" USING ") + 7);
    notes.push_back("kept index " + row[0].as<std::string>() + " (" + how + ")" +
                    (how.find("status") != std::string::npos
                         ? ": it gains an entry on every status change (see README, \"Adopting an existing sms_logs\")"
                         : ""));
  }
  for (const auto& row : tx.exec("SELECT CASE attname WHEN 'recipient' THEN 'to_number' ELSE attname END "
                                 "FROM pg_attribute WHERE attrelid = 'sms_logs'::regclass AND attnotnull "
                                 "AND attname IN ('to_number', 'from_number', 'recipient') ORDER BY attnum")) {
    notes.push_back("dropping NOT NULL on " + row[0].as<std::string>() +
                    ": a report can arrive before the send is logged, and SMPP receipts carry no numbers");
  }
  if (has_column(tx, "to_number") && !has_column(tx, "recipient")) {
    for (const auto& [article, legacy] : article_to_legacy) {
      if (has_column(tx, article)) {
        tx.exec("ALTER TABLE sms_logs RENAME COLUMN " + tx.quote_name(article) + " TO " + tx.quote_name(legacy));
      }
    }
  }
  // 0001 creates updated_at and 0002 relies on it; the article's table has none.
  tx.exec("ALTER TABLE sms_logs ADD COLUMN IF NOT EXISTS updated_at timestamptz DEFAULT now()");
  auto dups = tx.exec("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                      " WHERE i.indrelid = 'sms_logs'::regclass AND " +
                      std::string(repeats_unique_message_id) + " ORDER BY 1");
  for (const auto& row : dups) {
    auto name = row[0].as<std::string>();
    tx.exec("DROP INDEX " + tx.quote_name(name));
    notes.push_back("dropped index " + name + ": it repeats the UNIQUE index on message_id and only slows every write");
  }
  return notes;
}

}  // namespace

migrate_result migrate(const std::string& url, const std::string& until) {
  pqxx::connection conn(url);
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(migrate_lock_key) + ")");
    tx.exec(create_tracking_table);
  }
  migrate_result result;
  {
    // On an error the transaction rolls back; closing the connection releases the lock.
    pqxx::work tx(conn);
    const auto done = applied_names(tx);
    for (const auto& m : embedded_migrations()) {
      if (!until.empty() && m.name > until) break;
      if (done.contains(m.name)) continue;
      if (done.empty() && result.applied.empty()) result.notes = adopt(tx);
      tx.exec(m.sql, m.name);
      tx.exec_params("INSERT INTO dlr_schema_migrations (name) VALUES ($1)", m.name);
      result.applied.push_back(m.name);
    }
    tx.commit();
  }
  for (const auto& name : result.applied) spdlog::info("store: applied migration {}", name);
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migrate_lock_key) + ")");
  }
  return result;
}

std::string check_schema(const std::string& url) {
  pqxx::connection conn(url);
  pqxx::read_transaction tx(conn);
  std::set<std::string> in_db;
  if (tx.exec1("SELECT to_regclass('dlr_schema_migrations') IS NOT NULL")[0].as<bool>()) {
    in_db = applied_names(tx);
  }
  std::set<std::string> known;
  for (const auto& m : embedded_migrations()) {
    known.insert(m.name);
    if (!in_db.contains(m.name)) {
      return "database schema is missing migration " + m.name + "; run `dlrd migrate`";
    }
  }
  for (const auto& name : in_db) {
    if (!known.contains(name)) {
      return "database has migration " + name + " which this dlrd does not know (a newer dlrd migrated it?)";
    }
  }
  return {};
}

}  // namespace dlrd::store
