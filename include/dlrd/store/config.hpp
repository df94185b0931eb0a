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
  /// false (`off`): each batch commits with synchronous_commit off, so PostgreSQL need not
  /// flush its WAL per commit; the spool stays the log of record, and a batch's records are
  /// committed to it only once pg_current_wal_flush_lsn() has passed the batch's commit
  /// (app/writer_pool.hpp, flush_gate): a PostgreSQL crash loses only commits the spool
  /// still holds, and they are written again (idempotent upserts).
  bool synchronous_commit = true;
  /// Statuses whose first arrival writes a failure notice to dlr_alert_outbox. Set by the
  /// app from the alert configuration; not read from the `store` section.
  std::vector<std::string> notice_statuses{"undelivered", "rejected", "expired"};
  /// Raw statuses ("dlrd:expired:<rule>") of the expiry rules with `notify: false`: their
  /// policy expiry writes no notice. Set by the app from the expiry rules.
  std::vector<std::string> quiet_expiries;

  bool operator==(const store_config&) const = default;
};

void parse(config::section& s, database_config& out);

/// The libpq connection string for `db`, with connect_timeout applied.
std::string connection_string(const database_config& db);
void parse(config::section& s, store_config& out);

}  // namespace dlrd::store
