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

/// Applies the missing migrations in order, each in its own transaction, under an
/// advisory lock so that concurrent `migrate` runs are safe. Returns the names applied.
std::vector<std::string> migrate(const std::string& url);

/// Empty when the database has exactly the embedded migrations; otherwise a message
/// naming the first missing migration (or the unknown one the database has).
/// Throws on connection errors.
std::string check_schema(const std::string& url);

}  // namespace dlrd::store
