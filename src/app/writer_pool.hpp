// Writer threads: take durable records from the spool, write them to PostgreSQL, commit.
#pragma once

#include <dlrd/metrics/metrics.hpp>
#include <dlrd/spool/spool.hpp>
#include <dlrd/store/writer.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::app {

/// What a writer stores for a spooled record whose bytes passed the spool's checksum but do
/// not decode (written by a dlrd with another record format): those raw bytes as a
/// dlr_quarantine payload, never nothing. Provider "dlrd.spool"; the arrival time is
/// unknown and left at the epoch, so that a replay after an unknown commit outcome meets
/// the same row (sql/0012's key) instead of adding a second one and a second notice.
report::quarantined_payload undecodable_spool_record(const spool::record& r);

/// One writer's batches committed asynchronously (store.synchronous_commit off) whose commit
/// PostgreSQL may not have flushed yet. The spool is the log that still holds them: their
/// records are committed to the journal only once the server's flush position passed their
/// commit; the journal's checkpoint stays a prefix whatever order batches are released in.
/// Not thread-safe: each writer thread owns one.
class flush_gate {
 public:
  struct batch {
    std::vector<std::uint64_t> seqs;
    std::vector<report::ingest_record> records;  ///< kept to write them again after a reconnect
    store::wal_position committed_at;
    std::chrono::steady_clock::time_point since{};
  };

  void add(batch b) { waiting_.push_back(std::move(b)); }
  /// Takes out the seqs of the batches `flushed` covers: committed on the same connection,
  /// at or below its LSN.
  std::vector<std::uint64_t> release(store::wal_position flushed);
  /// Takes out the batches committed on another connection than `current`: that server may
  /// have crashed before flushing them, and a new connection's LSNs say nothing about them.
  std::vector<batch> take_stale(std::uint64_t current);
  bool empty() const { return waiting_.empty(); }
  std::size_t size() const { return waiting_.size(); }
  /// When the longest-waiting batch committed; now() when none waits.
  std::chrono::steady_clock::time_point oldest() const;

 private:
  std::deque<batch> waiting_;
};

/// Thread-safety: start/stop from the controlling thread; the observers from any thread.
class writer_pool {
 public:
  /// With `metrics` (which must outlive the pool), each batch is observed in
  /// dlrd_writer_batch_size and dlrd_writer_batch_seconds, and the writers' totals are
  /// exposed as dlrd_db_errors_total, dlrd_db_reconnects_total,
  /// dlrd_writer_reports_committed_total and dlrd_spool_records_undecodable_total.
  writer_pool(spool::journal& journal, store::database_config db, store::store_config config,
              metrics::registry* metrics = nullptr);
  ~writer_pool();

  void start();
  /// Asks the writers to stop after their current batch; a batch that is still being
  /// retried is abandoned and stays in the spool.
  void stop();

  /// Empty when every writer's last attempt reached PostgreSQL; else the last error.
  std::string database_problem() const;
  std::uint64_t rows_committed() const { return reports_committed_; }
  /// Summed over the writers.
  store::writer_counters counters() const;
  /// The oldest of the writers' last signs of life: a writer is alive while it waits for
  /// records, between attempts and in backoff, not while a connect or query hangs.
  /// now() before start().
  std::chrono::steady_clock::time_point oldest_heartbeat() const;

 private:
  void run(std::size_t index);
  /// Retries until the batch commits on the current primary; false when stopped first (the
  /// records stay in the spool).
  bool write_until_committed(std::size_t index, const std::vector<report::ingest_record>& batch,
                             store::write_outcome& out);
  /// The spool's records as the writers store them (an undecodable one is kept raw).
  std::vector<report::ingest_record> decode(const std::vector<spool::record>& records);

  enum class primary_check : std::uint8_t { same, stale, changed };
  /// After a commit on writer `index`'s connection. The first server seen becomes the
  /// primary. A connection opened after the last change that reached another server means a
  /// failover: `changed`, the primary is now that server and the writer owes a replay. A
  /// connection opened before the last change that reached another server is `stale`: the
  /// commit went to a server that is no longer the primary, so the batch is written again.
  primary_check check_primary(std::size_t index);
  /// Writes again every record the spool still holds (spool.retain_committed) to the new
  /// primary: commits the old one confirmed but had not passed to its standby are lost there.
  /// Then records the new primary in the spool, so a restart mid-way replays again.
  void replay(std::size_t index, const std::string& from);
  /// Hands `out`'s batch to the gate (or straight to the journal with synchronous commit),
  /// then releases what the flush position it came with covers.
  void committed(std::size_t index, flush_gate& gate, flush_gate::batch b, const store::write_outcome& out);
  /// Asks how far the WAL is flushed, releases what that covers, writes stale batches again.
  void poll_flushed(std::size_t index, flush_gate& gate, bool force);
  void release(std::size_t index, flush_gate& gate, store::wal_position flushed);
  /// Writes again the batches committed on another connection than `connection`.
  void rewrite_stale(std::size_t index, flush_gate& gate, std::uint64_t connection);

  spool::journal& journal_;
  store::database_config db_;
  store::store_config config_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> reports_committed_{0};
  std::atomic<std::uint64_t> undecodable_{0};
  metrics::histogram* batch_size_ = nullptr;
  metrics::histogram* batch_seconds_ = nullptr;
  std::unique_ptr<std::atomic<std::int64_t>[]> loop_beats_;  // steady ticks, per writer
  std::unique_ptr<std::atomic<std::int64_t>[]> awaiting_;    // batches in each writer's flush gate
  // The primary the records go to (see check_primary), shared by the writers.
  std::mutex primary_mutex_;
  std::string primary_;
  std::chrono::steady_clock::time_point primary_since_{};
  std::vector<std::string> owed_replays_;  // per writer: the previous primary, when a replay is owed
  std::atomic<std::uint64_t> replays_{0};
  std::atomic<std::uint64_t> replayed_records_{0};
  std::vector<std::unique_ptr<store::writer>> writers_;
  std::vector<std::thread> threads_;
};

}  // namespace dlrd::app
