// Applies and checks the embedded schema files (numbered migrations and sql/functions/), tracked with
// their checksums in dlr_schema_migrations.
#include <dlrd/store/migrations.hpp>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace dlrd::store {

namespace {

// Fixed key shared by every dlrd: concurrent `dlrd migrate` runs apply each migration once.
constexpr long long migrate_lock_key = 0x646c7264'6d696772;  // "dlrdmigr"

constexpr const char* create_tracking_table =
    "CREATE TABLE IF NOT EXISTS dlr_schema_migrations ("
    "  name text PRIMARY KEY,"
    "  applied_at timestamptz DEFAULT now(),"
    "  checksum text)";

constexpr std::string_view functions_prefix = "functions/";

// Applied file name -> its recorded checksum ("" where none was recorded).
using applied_map = std::map<std::string, std::string>;

bool has_checksums(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT count(*) FROM pg_attribute WHERE attrelid = 'dlr_schema_migrations'::regclass "
                  "AND attname = 'checksum' AND NOT attisdropped")[0]
             .as<int>() > 0;
}

applied_map applied_files(pqxx::transaction_base& tx, bool checksums) {
  applied_map applied;
  for (const auto& row : tx.exec(checksums ? "SELECT name, coalesce(checksum, '') FROM dlr_schema_migrations"
                                           : "SELECT name, '' FROM dlr_schema_migrations")) {
    applied[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return applied;
}

std::string file_of(const std::string& name) { return "sql/" + name + ".sql"; }

// Edited or unknown files among those the database has applied; empty when there are none.
std::string problem_with_applied(const applied_map& applied, const schema_files& files) {
  std::set<std::string> known;
  for (const auto& m : files.numbered) {
    known.insert(m.name);
    auto it = applied.find(m.name);
    if (it != applied.end() && !it->second.empty() && it->second != m.checksum) {
      return "migration " + file_of(m.name) + " differs from the one applied to this database (SHA-256 " +
             it->second.substr(0, 12) + "... there, " + m.checksum.substr(0, 12) +
             "... here): a shipped migration must never change; restore it and put the change in a new migration";
    }
  }
  for (const auto& f : files.functions) known.insert(f.name);
  for (const auto& [name, checksum] : applied) {
    if (known.contains(name)) continue;
    if (name.starts_with(functions_prefix)) {
      return "database has function file " + file_of(name) +
             " which this dlrd does not know (a newer dlrd migrated it?)";
    }
    return "database has migration " + name + " which this dlrd does not know (a newer dlrd migrated it?)";
  }
  return {};
}

// A tracking table from before checksums trusts that what it applied is what is shipped.
void record_missing_checksums(pqxx::transaction_base& tx, applied_map& applied, const schema_files& files) {
  std::size_t recorded = 0;
  for (const auto& m : files.numbered) {
    auto it = applied.find(m.name);
    if (it == applied.end() || !it->second.empty()) continue;
    tx.exec_params("UPDATE dlr_schema_migrations SET checksum = $2 WHERE name = $1", m.name, m.checksum);
    it->second = m.checksum;
    ++recorded;
  }
  if (recorded > 0) {
    spdlog::info("store: recorded the SHA-256 of {} applied migration(s) that had none (taken from the shipped "
                 "files); from now on a migration file that differs from the applied one is refused",
                 recorded);
  }
}

// Signature -> (definition, IMMUTABLE) of the functions a function file defines (its name).
using definitions = std::map<std::string, std::pair<std::string, bool>>;

definitions definitions_of(pqxx::transaction_base& tx, const std::string& function) {
  definitions defs;
  for (const auto& row : tx.exec_params("SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), "
                                        "p.provolatile = 'i' FROM pg_proc p WHERE p.proname = $1 "
                                        "AND p.pronamespace = to_regnamespace(current_schema())",
                                        function)) {
    defs[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<bool>()};
  }
  return defs;
}

// Only a definition that existed and changed can be under an index; a new one is not yet.
bool immutable_changed(const definitions& before, const definitions& after) {
  for (const auto& [signature, def] : after) {
    auto it = before.find(signature);
    if (def.second && it != before.end() && it->second.first != def.first) return true;
  }
  return false;
}

// Every index whose expression or predicate calls a function of sql/functions (pg_depend
// records those calls), rebuilt from the current definitions.
std::vector<std::string> reindex_function_indexes(pqxx::transaction_base& tx, const schema_files& files) {
  std::string names = "{";
  for (const auto& f : files.functions) {
    if (names.size() > 1) names += ',';
    names += f.name.substr(functions_prefix.size());
  }
  names += '}';
  std::vector<std::string> rebuilt;
  for (const auto& row : tx.exec_params(
           "SELECT DISTINCT d.objid::regclass::text FROM pg_depend d "
           "  JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_class c ON c.oid = d.objid "
           " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_proc'::regclass AND c.relkind = 'i' "
           "   AND p.proname = ANY ($1::text[]) AND p.pronamespace = to_regnamespace(current_schema()) ORDER BY 1",
           names)) {
    auto index = row[0].as<std::string>();  // regclass text is quoted where needed
    tx.exec("REINDEX INDEX " + index);
    spdlog::warn("store: rebuilt index {}: it calls an IMMUTABLE function whose definition changed", index);
    rebuilt.push_back(index);
  }
  return rebuilt;
}

// The function files that are new or changed since they were last applied, in name order.
void apply_functions(pqxx::transaction_base& tx, const applied_map& applied, const schema_files& files,
                     migrate_result& result) {
  bool rebuild = false;
  for (const auto& f : files.functions) {
    auto it = applied.find(f.name);
    if (it != applied.end() && it->second == f.checksum) continue;
    const auto function = f.name.substr(functions_prefix.size());
    const auto before = definitions_of(tx, function);
    tx.exec(f.sql, f.name);
    rebuild = immutable_changed(before, definitions_of(tx, function)) || rebuild;
    tx.exec_params("INSERT INTO dlr_schema_migrations (name, checksum) VALUES ($1, $2) ON CONFLICT (name) "
                   "DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
                   f.name, f.checksum);
    result.functions.push_back(f.name);
  }
  // After every file: an index may call a function another file changed.
  if (rebuild) result.reindexed = reindex_function_indexes(tx, files);
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
                         ? ": it gains an entry on every status change (see docs/schema.md, \"Adopting an existing sms_logs\")"
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

migrate_result migrate(const std::string& url, const std::string& until) { return migrate(url, schema_files{}, until); }

migrate_result migrate(const std::string& url, const schema_files& files, const std::string& until) {
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
    if (!has_checksums(tx)) tx.exec("ALTER TABLE dlr_schema_migrations ADD COLUMN checksum text");
    auto applied = applied_files(tx, true);
    record_missing_checksums(tx, applied, files);
    if (auto problem = problem_with_applied(applied, files); !problem.empty()) throw std::runtime_error(problem);
    for (const auto& m : files.numbered) {
      if (!until.empty() && m.name > until) break;
      if (applied.contains(m.name)) continue;
      if (applied.empty() && result.applied.empty()) result.notes = adopt(tx);
      tx.exec(m.sql, m.name);
      tx.exec_params("INSERT INTO dlr_schema_migrations (name, checksum) VALUES ($1, $2)", m.name, m.checksum);
      result.applied.push_back(m.name);
    }
    // An older schema (tests) must not get today's functions, which read today's columns.
    if (until.empty()) apply_functions(tx, applied, files, result);
    tx.commit();
  }
  for (const auto& name : result.applied) spdlog::info("store: applied migration {}", name);
  for (const auto& name : result.functions) spdlog::info("store: applied function file {}", file_of(name));
  {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT pg_advisory_unlock(" + std::to_string(migrate_lock_key) + ")");
  }
  return result;
}

std::string check_schema(const std::string& url) { return check_schema(url, schema_files{}); }

std::string check_schema(const std::string& url, const schema_files& files) {
  pqxx::connection conn(url);
  pqxx::read_transaction tx(conn);
  applied_map applied;
  if (tx.exec1("SELECT to_regclass('dlr_schema_migrations') IS NOT NULL")[0].as<bool>()) {
    applied = applied_files(tx, has_checksums(tx));
  }
  for (const auto& m : files.numbered) {
    if (!applied.contains(m.name)) {
      return "database schema is missing migration " + m.name + "; run `dlrd migrate`";
    }
  }
  if (auto problem = problem_with_applied(applied, files); !problem.empty()) return problem;
  for (const auto& f : files.functions) {
    auto it = applied.find(f.name);
    if (it == applied.end()) return "function file " + file_of(f.name) + " is not applied; run `dlrd migrate`";
    if (it->second != f.checksum) {
      return "function file " + file_of(f.name) + " differs from the one applied to the database; run `dlrd migrate`";
    }
  }
  return {};
}

}  // namespace dlrd::store
