// Schema migrations: numbered, forward-only, checksummed; plus repeatable function files.
// All embedded in the binary from sql/.
#pragma once

#include <string>
#include <vector>

namespace dlrd::store {

struct migration {
  std::string name;      ///< path under sql/ without extension: "0001_sms_logs", "functions/dlr_log_send"
  std::string sql;
  std::string checksum;  ///< SHA-256 of the file, hex (computed at build time)
};

/// Every numbered migration shipped in sql/, in order. Once applied, a migration's text
/// must never change: the database records its checksum and `migrate`/`check_schema`
/// refuse one that differs.
const std::vector<migration>& embedded_migrations();

/// Every repeatable function file shipped in sql/functions/, in name order. Each holds the
/// current definition of the functions named after it (CREATE OR REPLACE), is applied
/// after the numbered migrations, and again whenever its checksum changes. A change that
/// CREATE OR REPLACE cannot make (another return type, renamed parameters) needs a
/// numbered migration that drops the old function first.
const std::vector<migration>& embedded_functions();

/// The files `migrate` and `check_schema` work from; tests pass edited copies.
struct schema_files {
  std::vector<migration> numbered = embedded_migrations();
  std::vector<migration> functions = embedded_functions();
};

/// What a `migrate` run did: the migrations applied, in order, and one line per change it
/// made to what an application created (an adopted table's constraints and indexes); the
/// function files (re-)applied, and the indexes rebuilt because an IMMUTABLE function they
/// call changed.
struct migrate_result {
  std::vector<std::string> applied;
  std::vector<std::string> notes;
  std::vector<std::string> functions;
  std::vector<std::string> reindexed;
};

/// Applies the missing migrations in order, then the function files that are new or
/// changed, all in one transaction, under an advisory lock so that concurrent `migrate`
/// runs are safe. A non-empty `until` stops after the migration of that name and applies
/// no function file (tests build an older schema with it).
///
/// Refuses (throws, naming the file) when an applied migration's checksum differs from the
/// shipped file's, and when the database has a migration or function file this dlrd does
/// not know (a newer dlrd migrated it: applying older function files would downgrade them).
/// A tracking table from before checksums gets the column and the checksums of the shipped
/// files it has applied, once (logged).
///
/// A function file whose IMMUTABLE functions changed definition rebuilds (REINDEX) every
/// index that calls a function of sql/functions: such an index holds values computed by
/// the old definition, and PostgreSQL records no dependency from one SQL function's body
/// to the functions it calls, so the index may call the changed one indirectly.
///
/// Adoption: when no migration has run yet and `sms_logs` already exists with the seed
/// article's column names (to_number, from_number, text_preview, country_code, cost_eur),
/// those columns are first given the names the early migrations were written for, and
/// 0013 gives them back, in the same transaction: the application's rows and values are kept,
/// and the application never sees the intermediate names. An index that only repeats the
/// UNIQUE index on message_id is dropped, and said so in `notes`.
migrate_result migrate(const std::string& url, const std::string& until = {});
migrate_result migrate(const std::string& url, const schema_files& files, const std::string& until = {});

/// Empty when the database has exactly the embedded migrations and function files, with
/// the same checksums; otherwise a message naming the first missing, edited or unknown
/// file. Throws on connection errors.
std::string check_schema(const std::string& url);
std::string check_schema(const std::string& url, const schema_files& files);

}  // namespace dlrd::store
