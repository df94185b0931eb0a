// The spool seam: ingest appends records and is told when they are durable; writers
// take durable records, store them, and tell the spool which ones are committed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::spool {

/// How an append ended. Only `durable` may be answered with a 2xx.
enum class append_result : std::uint8_t {
  durable,        ///< every record of the unit is on disk (or in memory, for the memory spool)
  full,           ///< over spool.max_bytes: nothing of the unit was accepted
  io_error,       ///< a write or fsync failed: the unit is not durable, nothing may be acked
  stopped,        ///< the spool is closing
};

const char* to_string(append_result r) noexcept;

/// Called exactly once per append, on a spool thread. Must not block.
using append_handler = std::function<void(append_result)>;

/// A durable record handed to a writer. `seq` increases by one per record.
struct record {
  std::uint64_t seq = 0;
  std::string payload;
  std::chrono::steady_clock::time_point spooled_at{};  ///< when it became durable in this process
};

struct stats {
  std::uint64_t records_appended = 0;
  std::uint64_t records_committed = 0;
  std::uint64_t backlog_records = 0;   ///< durable, not yet committed in PostgreSQL
  std::uint64_t backlog_bytes = 0;
  std::uint64_t appends_full = 0;
  std::uint64_t appends_failed = 0;
  std::uint64_t groups_written = 0;    ///< file spool: group commits (one write each)
  std::uint64_t syncs = 0;             ///< file spool: fdatasync calls on segments
  /// File spool: damaged byte ranges met while reading records back from a segment. The
  /// records in them never reach a writer; the checkpoint stays below them until the next
  /// start, whose recovery copies them to a `.corrupt` file.
  std::uint64_t corrupt_regions = 0;
  /// When the appender last went round its loop (it wakes at least every checkpoint
  /// interval); an old value means it is stuck, e.g. in a write or fsync on a hung disk.
  /// The memory spool has no appender and reports the time of the snapshot.
  std::chrono::steady_clock::time_point appender_heartbeat{};
  /// When the oldest record not yet committed in PostgreSQL became durable in this process
  /// (records recovered at start count from the recovery); the epoch when the backlog is empty.
  std::chrono::steady_clock::time_point oldest_spooled_at{};
  /// File spool: segments whose records are all committed, kept for spool.retain_committed.
  std::uint64_t retained_segments = 0;
  std::uint64_t retained_bytes = 0;
};

/// Reads back, oldest first, every record a journal still holds on disk: the committed ones
/// kept for spool.retain_committed and those not committed yet. For writing them all again
/// when the database has lost commits it confirmed (a failover to an asynchronous standby
/// that had not received them): every write is idempotent, so the extra ones are harmless.
/// While a reader lives, its journal deletes no segment.
class replay_reader {
 public:
  virtual ~replay_reader() = default;
  /// Up to `max` records; empty at the end. A damaged record ends its segment's part
  /// (the live records in it reach writers by the usual path, which reports the damage).
  virtual std::vector<record> next(std::size_t max) = 0;
};

/// Thread-safety: every member function may be called from any thread.
class journal {
 public:
  virtual ~journal() = default;

  /// Appends one unit (all the records of one request) atomically: the handler sees
  /// `durable` only when all of them are, and then exactly once.
  virtual void append(std::vector<std::string> payloads, append_handler handler) = 0;

  /// Blocks until a record is available, then waits at most `linger` for more and
  /// returns up to `max` records no other taker has received. Returns an empty
  /// vector once the journal is closed and nothing is left to take, or at `deadline`.
  virtual std::vector<record> take(std::size_t max, std::chrono::milliseconds linger,
                                   std::chrono::steady_clock::time_point deadline) = 0;

  /// Marks records committed in PostgreSQL. The checkpoint advances over the
  /// contiguous committed prefix; parallel writers may commit out of order.
  virtual void commit(const std::vector<std::uint64_t>& seqs) = 0;

  /// Stops accepting appends (they complete with `stopped`); takers drain what is left.
  virtual void close() = 0;

  virtual stats snapshot() const = 0;

  /// A reader over the records kept on disk (see replay_reader); nullptr when this journal
  /// keeps none (the memory spool, or spool.retain_committed 0).
  virtual std::unique_ptr<replay_reader> replay() { return nullptr; }

  /// Which database server the records were last committed to (the writers' view of the
  /// primary, e.g. its system identifier and timeline); "" when not known yet. The file
  /// spool keeps it on disk, so a start after a failover still notices the change.
  virtual std::string database_identity() const { return {}; }
  virtual void set_database_identity(const std::string& identity) { (void)identity; }
};

struct memory_config {
  std::size_t max_records = 1'000'000;
};

/// A bounded in-memory journal: durable means "held by this process". Loses its
/// content on a crash; used by tests and by `spool.kind: memory`.
std::unique_ptr<journal> make_memory_journal(memory_config config);

}  // namespace dlrd::spool
