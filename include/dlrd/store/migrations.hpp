// Schema migrations: numbered, forward-only, embedded in the binary from sql/.
#pragma once

#include <string>
#include <vector>

namespace dlrd::store {

struct migration {
  std::string name;  ///< file name without extension, e.g. "0001_sms_logs"
  std::string sql;
};

/// Every migration shipped in sql/, in order.
const std::vector<migration>& embedded_migrations();

/// What a `migrate` run did: the migrations applied, in order, and one line per change it
/// made to what an application created (an adopted table's constraints and indexes).
struct migrate_result {
  std::vector<std::string> applied;
  std::vector<std::string> notes;
};

/// Applies the missing migrations in order, all in one transaction, under an advisory lock
/// so that concurrent `migrate` runs are safe. A non-empty `until` stops after the migration
/// of that name (tests build an older schema with it).
///
/// Adoption: when no migration has run yet and `sms_logs` already exists with the seed
/// article's column names (to_number, from_number, text_preview, country_code, cost_eur),
/// those columns are first given the names the early migrations were written for, and
/// 0013 gives them back, in the same transaction: the application's rows and values are kept,
/// and the application never sees the intermediate names. An index that only repeats the
/// UNIQUE index on message_id is dropped, and said so in `notes`.
migrate_result migrate(const std::string& url, const std::string& until = {});

/// Empty when the database has exactly the embedded migrations; otherwise a message
/// naming the first missing migration (or the unknown one the database has).
/// Throws on connection errors.
std::string check_schema(const std::string& url);

}  // namespace dlrd::store
