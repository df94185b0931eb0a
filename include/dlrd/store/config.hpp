// The `database` and `store` config sections.
#pragma once

#include <dlrd/config/yaml.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace dlrd::store {

struct database_config {
  /// libpq connection string: a URL or key=value keywords; ${ENV} expanded; or `url_file`.
  std::string url = "postgresql:///dlrd";
  std::chrono::milliseconds connect_timeout{5000};
  bool migrate_on_start = false;

  bool operator==(const database_config&) const = default;
};

struct store_config {
  int workers = 2;                                  ///< writer threads, one connection each
  std::size_t batch_max = 1000;                     ///< reports per transaction
  std::chrono::milliseconds batch_linger{5};        ///< wait for a fuller batch at most this long
  std::chrono::milliseconds retry_backoff_max{5000};
  bool history = true;                              ///< write dlr_events
  /// Must be true: parse() refuses false, since the spool trims a record once its commit
  /// returns, before an asynchronous commit is flushed (a PostgreSQL crash would lose acked
  /// reports). Allowing it needs the checkpoint to wait for the WAL flush position
  /// (pg_current_wal_flush_lsn) first.
  bool synchronous_commit = true;
  /// Statuses whose first arrival writes a failure notice to dlr_alert_outbox. Set by the
  /// app from the alert configuration; not read from the `store` section.
  std::vector<std::string> notice_statuses{"undelivered", "rejected", "expired"};

  bool operator==(const store_config&) const = default;
};

void parse(config::section& s, database_config& out);

/// The libpq connection string for `db`, with connect_timeout applied.
std::string connection_string(const database_config& db);
void parse(config::section& s, store_config& out);

}  // namespace dlrd::store
