// The durable file journal's class (see file_journal.cpp for the data flow): private to
// src/spool, shared by its two halves, file_journal.cpp (append, take, commit, close, the
// appender's loop) and segment_io.cpp (group writes, segments, the checkpoint, reading back).
#pragma once

#include <dlrd/spool/config.hpp>
#include <dlrd/spool/file_journal.hpp>

#include "recovery.hpp"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace dlrd::spool::detail {

using clock = std::chrono::steady_clock;

struct unit {
  std::vector<std::string> payloads;
  append_handler handler;
  std::uint64_t bytes = 0;  // encoded
};

/// How putting one group on disk went.
struct group_write {
  std::error_code ec;
  const char* op = "";      // the call that failed
  std::uint64_t offset = 0; // where the group starts in the active segment
  bool synced = false;      // an fdatasync was attempted
};

/// A segment file. States: active (the appender writes to it), sealed (full,
/// abandoned after an I/O error, or recovered), deleted (every record committed).
struct segment {
  std::string path;
  std::uint64_t durable_bytes = 0;  // the synced, valid prefix
  std::uint64_t durable_last = 0;   // seq of the last durable record; 0 when none
  std::uint64_t last_assigned = 0;  // highest seq ever given to it, durable or failed
  bool sealed = false;
};

/// A segment whose records are all committed, kept for spool.retain_committed.
struct retained_segment {
  std::string path;
  std::uint64_t bytes = 0;
  clock::time_point since{};  // when its last record was found committed (or the start)
};

/// Where the next record to be read back from disk starts.
struct disk_cursor {
  std::uint64_t segment = 0;  // key (first seq) in segments_
  std::uint64_t offset = 0;
  std::uint64_t seq = 0;
};

/// What one cached record costs in memory: its payload, the record, and the allocator's
/// overhead for the payload's heap block. The cache bound counts this, not payload alone.
constexpr std::uint64_t cached_size(std::size_t payload) {
  return payload + sizeof(record) + 16;
}

/// The database identity a journal recorded in `dir` ("" when none).
std::string read_database_identity(file_ops& ops, const std::string& dir);

class file_journal final : public journal {
 public:
  file_journal(const spool_config& config, std::shared_ptr<file_ops> ops, detail::recovered_spool recovered);

  ~file_journal() override;

  file_journal(const file_journal&) = delete;
  file_journal& operator=(const file_journal&) = delete;

  void append(std::vector<std::string> payloads, append_handler handler) override;

  std::vector<record> take(std::size_t max, std::chrono::milliseconds linger, clock::time_point deadline) override;

  void commit(const std::vector<std::uint64_t>& seqs) override;

  void close() override;

  stats snapshot() const override;

  std::unique_ptr<replay_reader> replay() override;
  std::string database_identity() const override;
  void set_database_identity(const std::string& identity) override;

  /// A replay reader is done: segments may be deleted again.
  void unpin();

 private:
  /// Closed, and nothing queued or being written: takers may stop once they are empty.
  bool drained() const { return closed_ && queue_.empty() && !group_in_flight_; }

  void run();

  /// Writes one group with one write (and the zeros ahead, when it reaches them) and one
  /// fdatasync, then answers every unit.
  void write_group(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t bytes);

  /// Hands a durable group to takers: in memory while the cache has room, else from disk.
  /// Called with mutex_ held.
  void publish(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t payload_bytes,
               std::uint64_t offset, clock::time_point now);

  /// Puts a group's bytes in the active segment (opening one when needed) and syncs them.
  group_write write_synced(const std::string& buffer, std::uint64_t first);

  /// Creates a segment and makes its directory entry durable before anything in it is acked.
  std::error_code open_segment(std::uint64_t first, const char*& op);

  /// Zeroes the active segment from `end` a step ahead of the writes (see segment_io.cpp).
  std::error_code zero_ahead(std::uint64_t end);

  /// Stops writing to the active segment, cut back to its durable bytes; the next group
  /// opens a new one.
  void seal_active();

  /// Every record <= the result is committed, failed, or was committed before the start.
  /// Called with mutex_ held.
  std::uint64_t checkpoint_candidate() const;

  /// Persists the checkpoint atomically, then deletes (or retains) the segments it covers.
  void write_checkpoint();

  /// Moves the sealed segments the persisted checkpoint covers to the retained ones (or
  /// deletes them when nothing is retained), then deletes the retained ones past
  /// retain_committed or over retain_committed_max_bytes. Nothing while a replay reads.
  void release_segments();

  /// Writes `text` to `name` in the spool directory atomically (temp file, rename, fsyncs).
  std::error_code write_small_file(const char* name, const std::string& text);

  /// Reads records back from the segments at the cursor. Called with take_mutex_ and
  /// `lock` held; releases `lock` around the read.
  void read_back(std::unique_lock<std::mutex>& lock, std::vector<record>& out, std::size_t max);

  /// When a record read back from disk became durable. Called with mutex_ held.
  clock::time_point spooled_at(std::uint64_t seq);

  /// The same without forgetting older spills, for snapshots. Called with mutex_ held.
  clock::time_point spooled_at_of(std::uint64_t seq) const;

  const spool_config config_;
  const std::shared_ptr<file_ops> ops_;
  const clock::time_point recovered_at_;

  mutable std::mutex mutex_;
  std::condition_variable work_;   // the appender waits for units, close and stop
  std::condition_variable ready_;  // takers wait for durable records
  std::condition_variable idle_;   // close() waits for the last group and the checkpoint
  std::timed_mutex take_mutex_;

  // Received: waiting for the appender.
  std::deque<unit> queue_;
  std::uint64_t queued_bytes_ = 0;
  bool group_in_flight_ = false;
  std::uint64_t inflight_first_ = 0;
  std::uint64_t next_seq_ = 1;

  // Spooled: durable, not yet taken; in memory (cache_) and, past it, on disk.
  std::deque<record> cache_;
  std::uint64_t cache_bytes_ = 0;
  bool disk_mode_ = false;
  disk_cursor cursor_;
  std::uint64_t disk_available_ = 0;
  std::deque<std::pair<std::uint64_t, clock::time_point>> spill_times_;

  // Taken by a writer, not yet committed: seq -> when it became durable.
  std::map<std::uint64_t, clock::time_point> taken_;
  std::uint64_t persisted_checkpoint_ = 0;
  // The lowest seq skipped as unreadable since the start: the checkpoint stays below it.
  std::uint64_t unreadable_floor_ = ~std::uint64_t{0};

  std::map<std::uint64_t, segment> segments_;
  std::uint64_t live_bytes_ = 0;

  // Fully committed segments kept for a replay, by first seq; and the replay readers open.
  std::map<std::uint64_t, retained_segment> retained_;
  std::uint64_t retained_bytes_ = 0;
  int replay_pins_ = 0;
  std::string database_identity_;

  bool closed_ = false;
  bool close_requested_ = false;
  bool close_done_ = false;
  bool stopping_ = false;
  stats stats_;

  // Owned by the appender thread.
  int active_fd_ = -1;
  std::uint64_t active_key_ = 0;
  std::uint64_t active_zeroed_ = 0;  // the active segment's bytes written (records or zeros)
  std::thread appender_;
};

}  // namespace dlrd::spool::detail
