// The one narrow door to PostgreSQL for ingest: write a batch of records, learn what changed.
#pragma once

#include <dlrd/report/report.hpp>
#include <dlrd/store/config.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dlrd::store {

/// A place in the write-ahead log of the server one of this writer's connections reached.
/// LSNs compare only within one connection's server: after a crash recovery (or a failover)
/// the log goes on from what was flushed, so an LSN from before says nothing about it.
struct wal_position {
  std::uint64_t connection = 0;  ///< which of the writer's connections (1 = its first); 0 = none
  std::uint64_t lsn = 0;
};

struct write_outcome {
  std::size_t reports = 0;        ///< reports in the batch
  std::size_t rows_changed = 0;   ///< sms_logs rows inserted or moved to a new state
  std::size_t events_added = 0;   ///< new dlr_events rows (duplicates are not counted)
  std::size_t quarantined = 0;    ///< dlr_quarantine rows written (decode failures and poison records)
  std::size_t notices = 0;        ///< failure notices written to dlr_alert_outbox
  std::size_t waiters_woken = 0;  ///< final rows with a registered status waiter (one NOTIFY each)
  std::size_t statements = 0;     ///< write statements run in the committed transaction (1 without refusals)
  /// With store.synchronous_commit off: the WAL insert position read on the same connection
  /// right after COMMIT returned, at or past the commit record; and how far the WAL was
  /// flushed at that moment. Both zero with synchronous commit.
  wal_position committed_at;
  std::uint64_t flushed_lsn = 0;
};

/// The server a writer's connection reached, read when it opened.
struct server_id {
  /// "system <identifier> timeline <n>": differs after a failover (a promoted standby has a new
  /// timeline) or a switch to another cluster; "" before the first connection.
  std::string identity;
  std::chrono::steady_clock::time_point opened_at{};
};

/// Plain running totals of one writer, for metrics and the watchdog.
struct writer_counters {
  std::uint64_t attempts = 0;     ///< transaction attempts started (first tries and retries)
  std::uint64_t errors = 0;       ///< attempts that failed (connection, query or commit errors)
  std::uint64_t reconnects = 0;   ///< connections opened after this writer's first one
};

/// Merges a batch in memory with the convergence rule (DESIGN.md invariant 3): one
/// winner per message_id, sorted by message_id. Exposed for the property tests.
std::vector<report::delivery_report> merge_batch(std::span<const report::delivery_report> reports);

/// One PostgreSQL connection. Not thread-safe: each writer thread owns one.
class writer {
 public:
  writer(database_config db, store_config config);
  ~writer();

  /// Writes the batch in one transaction; retries broken connections, serialization
  /// failures and deadlocks with capped exponential backoff until it succeeds or
  /// `stop` becomes true (then throws). A record that PostgreSQL refuses on its own
  /// (a data error) is written to dlr_quarantine with the error instead, so one bad
  /// record cannot block the pipeline.
  write_outcome write(std::span<const report::ingest_record> batch, const std::atomic<bool>& stop);

  /// How far the WAL is flushed, asked on the current connection (opened if needed). With
  /// `force`, a tiny synchronous transaction first flushes every WAL record before it, for
  /// when the walwriter leaves the last async commit waiting. {0, 0} on any error: it never
  /// throws, and the next write or call reconnects.
  wal_position flushed(bool force);

  /// True after the last attempt reached the database.
  bool connected() const;
  /// The server the current (or last) connection reached. Only the writer's own thread may
  /// call it (the connection is reopened on that thread).
  const server_id& server() const;
  /// Closes the connection; the next write opens a new one (which reaches the current primary).
  void disconnect();
  /// The last connection or query error, for /readyz and logs; empty when healthy.
  std::string last_error() const;
  /// Safe to call from any thread while another thread writes.
  writer_counters counters() const;
  /// The last moment this writer was not blocked inside PostgreSQL (idle, between
  /// attempts, or sleeping in backoff). Stays old while a connect or query hangs.
  /// Safe to call from any thread.
  std::chrono::steady_clock::time_point alive_at() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dlrd::store
