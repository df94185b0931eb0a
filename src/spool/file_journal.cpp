// The durable file journal: one appender thread group-commits units into segment
// files; writers take durable records in order from memory or, past the cache, from
// the segments; a checkpoint of the committed prefix lets old segments be deleted.
#include <dlrd/spool/config.hpp>
#include <dlrd/spool/file_journal.hpp>

#include "format.hpp"
#include "recovery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace dlrd::spool {

namespace {

using clock = std::chrono::steady_clock;

struct unit {
  std::vector<std::string> payloads;
  append_handler handler;
  std::uint64_t bytes = 0;  // encoded
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

class file_journal final : public journal {
 public:
  file_journal(const spool_config& config, std::shared_ptr<file_ops> ops, detail::recovered_spool recovered)
      : config_(config), ops_(std::move(ops)), recovered_at_(clock::now()) {
    next_seq_ = recovered.next_seq;
    persisted_checkpoint_ = recovered.checkpoint;
    for (const auto& s : recovered.segments) {
      segments_[s.first_seq] = segment{s.path, s.bytes, s.last_seq, s.last_seq, true};
      live_bytes_ += s.bytes;
    }
    if (recovered.replay_records > 0) {
      disk_mode_ = true;
      cursor_ = disk_cursor{recovered.replay_segment, recovered.replay_offset, recovered.replay_seq};
      disk_available_ = recovered.replay_records;
    }
    stats_.appender_heartbeat = clock::now();
    appender_ = std::thread([this] { run(); });
  }

  ~file_journal() override {
    close();
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    ready_.notify_all();
    appender_.join();
  }

  file_journal(const file_journal&) = delete;
  file_journal& operator=(const file_journal&) = delete;

  void append(std::vector<std::string> payloads, append_handler handler) override {
    std::uint64_t bytes = 0;
    bool too_big = false;
    for (const auto& p : payloads) {
      bytes += detail::header_bytes + p.size();
      too_big = too_big || p.size() > max_record_payload;
    }
    append_result result;
    {
      std::lock_guard lock(mutex_);
      if (closed_) {
        result = append_result::stopped;
      } else if (too_big || live_bytes_ + queued_bytes_ + bytes > config_.max_bytes) {
        result = append_result::full;
        ++stats_.appends_full;
      } else {
        queue_.push_back(unit{std::move(payloads), std::move(handler), bytes});
        queued_bytes_ += bytes;
        work_.notify_one();
        return;
      }
    }
    handler(result);
  }

  std::vector<record> take(std::size_t max, std::chrono::milliseconds linger, clock::time_point deadline) override {
    std::vector<record> out;
    if (max == 0) return out;
    // Takers go one at a time so that records leave in seq order, each to one taker.
    std::unique_lock take_lock(take_mutex_, std::defer_lock);
    if (!take_lock.try_lock_until(deadline)) return out;
    std::unique_lock lock(mutex_);
    auto available = [this] { return cache_.size() + disk_available_; };
    if (!ready_.wait_until(lock, deadline, [&] { return available() > 0 || drained() || stopping_; })) return out;
    if (available() == 0) return out;
    if (available() < max && !drained()) {
      auto until = std::min(deadline, clock::now() + linger);
      ready_.wait_until(lock, until, [&] { return available() >= max || drained() || stopping_; });
    }
    while (out.size() < max && !cache_.empty()) {
      cache_bytes_ -= cached_size(cache_.front().payload.size());
      taken_.emplace(cache_.front().seq, cache_.front().spooled_at);
      out.push_back(std::move(cache_.front()));
      cache_.pop_front();
    }
    if (out.size() < max && disk_available_ > 0) read_back(lock, out, max);
    return out;
  }

  void commit(const std::vector<std::uint64_t>& seqs) override {
    std::lock_guard lock(mutex_);
    for (auto s : seqs) {
      if (taken_.erase(s) > 0) ++stats_.records_committed;
    }
  }

  void close() override {
    std::unique_lock lock(mutex_);
    if (!closed_) {
      closed_ = true;
      close_requested_ = true;
      work_.notify_all();
    }
    ready_.notify_all();
    idle_.wait(lock, [this] { return close_done_; });
  }

  stats snapshot() const override {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.backlog_records = cache_.size() + disk_available_ + taken_.size();
    s.backlog_bytes = live_bytes_;
    // Records leave in seq order: the taken ones are older than the cached, which are older
    // than those still on disk.
    if (!taken_.empty()) s.oldest_spooled_at = taken_.begin()->second;
    else if (!cache_.empty()) s.oldest_spooled_at = cache_.front().spooled_at;
    else if (disk_available_ > 0) s.oldest_spooled_at = spooled_at_of(cursor_.seq);
    return s;
  }

 private:
  /// Closed, and nothing queued or being written: takers may stop once they are empty.
  bool drained() const { return closed_ && queue_.empty() && !group_in_flight_; }

  void run() {
    auto next_checkpoint = clock::now() + config_.checkpoint_interval;
    std::unique_lock lock(mutex_);
    for (;;) {
      work_.wait_until(lock, next_checkpoint,
                       [this] { return !queue_.empty() || close_requested_ || stopping_; });
      stats_.appender_heartbeat = clock::now();
      if (!queue_.empty()) {
        // Take every unit waiting (up to a segment's worth) as one group.
        std::vector<unit> group;
        std::uint64_t bytes = 0;
        std::uint64_t count = 0;
        while (!queue_.empty()) {
          auto& u = queue_.front();
          if (!group.empty() && bytes + u.bytes > config_.segment_bytes) break;
          bytes += u.bytes;
          count += u.payloads.size();
          group.push_back(std::move(u));
          queue_.pop_front();
        }
        std::uint64_t first = next_seq_;
        next_seq_ += count;
        group_in_flight_ = true;
        inflight_first_ = first;
        lock.unlock();
        write_group(group, first, count, bytes);
        lock.lock();
        continue;
      }
      if (close_requested_ || stopping_ || clock::now() >= next_checkpoint) {
        lock.unlock();
        write_checkpoint();
        lock.lock();
        next_checkpoint = clock::now() + config_.checkpoint_interval;
        if (close_requested_) {
          close_requested_ = false;
          close_done_ = true;
          idle_.notify_all();
          ready_.notify_all();
        }
        if (stopping_) break;
      }
    }
    lock.unlock();
    seal_active();
  }

  /// Writes one group with one write and one fdatasync, then answers every unit.
  void write_group(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t bytes) {
    std::string buffer;
    buffer.reserve(bytes);
    std::uint64_t payload_bytes = 0;
    {
      std::uint64_t seq = first;
      for (const auto& u : group) {
        for (const auto& p : u.payloads) {
          detail::encode_record(buffer, seq++, p);
          payload_bytes += p.size();
        }
      }
    }
    std::error_code ec;
    const char* op = "";
    bool synced = false;
    std::uint64_t offset = 0;
    if (count > 0) {
      if (active_fd_ >= 0) {
        std::unique_lock lock(mutex_);
        auto size = segments_[active_key_].durable_bytes;
        lock.unlock();
        if (size > 0 && size + buffer.size() > config_.segment_bytes) seal_active();
      }
      if (active_fd_ < 0) ec = open_segment(first, op);
      if (!ec) {
        std::lock_guard lock(mutex_);
        offset = segments_[active_key_].durable_bytes;
      }
      if (!ec) {
        op = "write";
        ec = ops_->write(active_fd_, buffer.data(), buffer.size());
      }
      if (!ec && config_.fsync) {
        op = "fdatasync";
        ec = ops_->sync_data(active_fd_);
        synced = true;
      }
    }
    auto now = clock::now();
    std::string failed_path;
    {
      std::lock_guard lock(mutex_);
      group_in_flight_ = false;
      queued_bytes_ -= bytes;
      if (synced) ++stats_.syncs;
      if (active_fd_ >= 0 && count > 0) {
        auto& seg = segments_[active_key_];
        seg.last_assigned = std::max(seg.last_assigned, first + count - 1);
        failed_path = seg.path;
      }
      if (!ec && count > 0) {
        auto& seg = segments_[active_key_];
        seg.durable_bytes += buffer.size();
        seg.durable_last = first + count - 1;
        live_bytes_ += buffer.size();
        ++stats_.groups_written;
        stats_.records_appended += count;
        publish(group, first, count, payload_bytes, offset, now);
      } else if (ec) {
        stats_.appends_failed += group.size();
      }
    }
    if (ec) {
      spdlog::error("spool {}: {} failed on {}: {}; {} unit(s) answered io_error, segment abandoned",
                    config_.dir, op, failed_path.empty() ? config_.dir : failed_path, ec.message(), group.size());
      seal_active();
    } else if (active_fd_ >= 0) {
      std::unique_lock lock(mutex_);
      bool full = segments_[active_key_].durable_bytes >= config_.segment_bytes;
      lock.unlock();
      if (full) seal_active();
    }
    ready_.notify_all();
    auto result = ec ? append_result::io_error : append_result::durable;
    for (auto& u : group) u.handler(result);
  }

  /// Hands a durable group to takers: in memory while the cache has room, else from disk.
  /// Called with mutex_ held.
  void publish(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t payload_bytes,
               std::uint64_t offset, clock::time_point now) {
    if (!disk_mode_ && cache_bytes_ + payload_bytes + count * cached_size(0) <= config_.cache_bytes) {
      std::uint64_t seq = first;
      for (auto& u : group) {
        for (auto& p : u.payloads) {
          cache_bytes_ += cached_size(p.size());
          cache_.push_back(record{seq++, std::move(p), now});
        }
      }
      return;
    }
    if (!disk_mode_) {
      disk_mode_ = true;
      cursor_ = disk_cursor{active_key_, offset, first};
    }
    disk_available_ += count;
    spill_times_.emplace_back(first, now);
  }

  /// Creates a segment and makes its directory entry durable before anything in it is acked.
  std::error_code open_segment(std::uint64_t first, const char*& op) {
    auto path = detail::join_path(config_.dir, detail::segment_name(first));
    int fd = -1;
    op = "create";
    if (auto ec = ops_->open(path, open_mode::create_new, fd)) return ec;
    {
      std::lock_guard lock(mutex_);
      segments_[first] = segment{path, 0, 0, 0, false};
    }
    active_fd_ = fd;
    active_key_ = first;
    if (!config_.fsync) return {};
    op = "fsync";
    if (auto ec = ops_->sync_file(fd)) return ec;
    op = "directory fsync";
    return ops_->sync_dir(config_.dir);
  }

  /// Stops writing to the active segment; the next group opens a new one.
  void seal_active() {
    if (active_fd_ < 0) return;
    if (auto ec = ops_->close(active_fd_)) spdlog::warn("spool {}: close failed: {}", config_.dir, ec.message());
    active_fd_ = -1;
    std::lock_guard lock(mutex_);
    segments_[active_key_].sealed = true;
  }

  /// Every record <= the result is committed, failed, or was committed before the start.
  /// Called with mutex_ held.
  std::uint64_t checkpoint_candidate() const {
    std::uint64_t floor = next_seq_;
    if (!cache_.empty()) floor = cache_.front().seq;
    else if (disk_available_ > 0) floor = cursor_.seq;
    else if (group_in_flight_) floor = inflight_first_;
    if (!taken_.empty()) floor = std::min(floor, taken_.begin()->first);
    floor = std::min(floor, unreadable_floor_);
    return std::max(persisted_checkpoint_, floor - 1);
  }

  /// Persists the checkpoint atomically, then deletes the segments it covers.
  void write_checkpoint() {
    std::uint64_t candidate;
    {
      std::lock_guard lock(mutex_);
      candidate = checkpoint_candidate();
    }
    if (candidate != persisted_checkpoint_) {
      auto temp = detail::join_path(config_.dir, detail::checkpoint_temp_name);
      auto bytes = detail::encode_checkpoint(candidate);
      int fd = -1;
      auto ec = ops_->open(temp, open_mode::create_or_truncate, fd);
      if (!ec) {
        ec = ops_->write(fd, bytes.data(), bytes.size());
        if (!ec && config_.fsync) ec = ops_->sync_data(fd);
        auto close_ec = ops_->close(fd);
        if (!ec) ec = close_ec;
      }
      if (!ec) ec = ops_->rename(temp, detail::join_path(config_.dir, detail::checkpoint_name));
      if (!ec && config_.fsync) ec = ops_->sync_dir(config_.dir);
      if (ec) {
        spdlog::error("spool {}: checkpoint write failed: {}", config_.dir, ec.message());
        return;
      }
      std::lock_guard lock(mutex_);
      persisted_checkpoint_ = candidate;
    }
    std::vector<std::pair<std::uint64_t, std::string>> doomed;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [key, seg] : segments_) {
        if (seg.sealed && seg.last_assigned <= persisted_checkpoint_) doomed.emplace_back(key, seg.path);
      }
    }
    for (const auto& [key, path] : doomed) {
      auto ec = ops_->unlink(path);
      if (ec && ec != std::errc::no_such_file_or_directory) {
        spdlog::warn("spool {}: cannot delete {}: {}", config_.dir, path, ec.message());
        continue;
      }
      std::lock_guard lock(mutex_);
      live_bytes_ -= segments_[key].durable_bytes;
      segments_.erase(key);
    }
  }

  /// Reads records back from the segments at the cursor. Called with take_mutex_ and
  /// `lock` held; releases `lock` around the read.
  void read_back(std::unique_lock<std::mutex>& lock, std::vector<record>& out, std::size_t max) {
    while (out.size() < max && disk_available_ > 0) {
      auto it = segments_.find(cursor_.segment);
      if (it == segments_.end() || (cursor_.offset >= it->second.durable_bytes && it->second.sealed)) {
        auto next = segments_.upper_bound(cursor_.segment);
        while (next != segments_.end() && next->second.durable_bytes == 0) ++next;
        if (next == segments_.end()) {
          spdlog::error("spool {}: {} record(s) expected after seq {} but no segment holds them", config_.dir,
                        disk_available_, cursor_.seq);
          disk_available_ = 0;
          break;
        }
        cursor_ = disk_cursor{next->first, 0, next->first};
        continue;
      }
      const auto& seg = it->second;
      if (cursor_.offset >= seg.durable_bytes) break;
      auto path = seg.path;
      auto offset = cursor_.offset;
      auto limit = seg.durable_bytes;
      auto durable_last = seg.durable_last;
      auto expected = cursor_.seq;
      std::size_t want = std::min<std::uint64_t>(max - out.size(), disk_available_);
      std::uint64_t chunk = std::min<std::uint64_t>(limit - offset, std::uint64_t{1} << 20);

      lock.unlock();
      std::vector<detail::decoded_record> decoded;
      std::string bytes;
      std::error_code ec;
      bool damaged = false;
      std::string reason;
      std::size_t used = 0;
      for (;;) {
        ec = ops_->read(path, offset, chunk, bytes);
        if (ec) break;
        used = 0;
        decoded.clear();
        damaged = false;
        while (decoded.size() < want && used < bytes.size()) {
          // Seqs increase by one, except across a gap that recovery left where damage was.
          auto min_seq = decoded.empty() ? expected : decoded.back().seq + 1;
          detail::decoded_record r;
          auto p = detail::decode_frame(std::string_view(bytes).substr(used), r, &reason);
          if (p == detail::problem_kind::none && (r.seq < min_seq || r.seq > durable_last)) {
            p = detail::problem_kind::corrupt;
            reason = "record sequence out of order";
          }
          if (p == detail::problem_kind::torn && offset + bytes.size() < limit) break;  // continues past the chunk
          if (p != detail::problem_kind::none) {
            damaged = true;
            break;
          }
          decoded.push_back(r);
          used += r.size;
        }
        // A record larger than the chunk: read again with room for it.
        if (!damaged && decoded.empty() && used < bytes.size() && chunk < limit - offset) {
          chunk = limit - offset;
          continue;
        }
        break;
      }
      // Damage after some good records: hand those out first; the next round meets it at once.
      if (damaged && !decoded.empty()) damaged = false;
      if (!ec && !damaged && decoded.empty()) {
        damaged = true;  // nothing readable where synced records should be: never spin on it
        reason = "segment shorter than its synced size";
      }
      // Damage at the cursor: look for the next valid record in the rest of the segment.
      std::size_t resync_at = std::string_view::npos;
      detail::decoded_record next;
      if (!ec && damaged) {
        ec = ops_->read(path, offset, limit - offset, bytes);
        if (!ec) {
          detail::seq_window w;
          w.min = expected;
          w.max = durable_last;
          w.origin_seq = expected - 1;
          w.base_seq = expected - 1;
          resync_at = detail::find_record(bytes, 1, w, next);
        }
      }
      lock.lock();

      if (ec) {
        // Possibly transient: leave the cursor where it is and let the next take retry.
        spdlog::error("spool {}: cannot read back {}: {}", config_.dir, path, ec.message());
        break;
      }
      for (const auto& r : decoded) {
        auto at = spooled_at(r.seq);
        out.push_back(record{r.seq, std::string(r.payload), at});
        taken_.emplace(r.seq, at);
      }
      cursor_.offset += used;
      if (!decoded.empty()) cursor_.seq = decoded.back().seq + 1;
      disk_available_ -= decoded.size();
      if (damaged) {
        // The disk changed under synced records. They never reach a writer, so the
        // checkpoint must not pass them: the segment stays until the next start, whose
        // recovery copies the damaged bytes aside and replays every valid record around them.
        std::uint64_t skip_to = std::max(cursor_.seq, resync_at == std::string_view::npos ? durable_last + 1 : next.seq);
        std::uint64_t bad_bytes = resync_at == std::string_view::npos ? limit - cursor_.offset : resync_at;
        std::uint64_t lost = std::min<std::uint64_t>(skip_to - cursor_.seq, disk_available_);
        ++stats_.corrupt_regions;
        unreadable_floor_ = std::min(unreadable_floor_, cursor_.seq);
        spdlog::error("spool {}: {} in {} at offset {}; {} byte(s) and up to {} record(s) (seq {}..{}) skipped; "
                      "the checkpoint stays below seq {} until a restart sets them aside",
                      config_.dir, reason, path, cursor_.offset, bad_bytes, lost, cursor_.seq, skip_to - 1,
                      unreadable_floor_);
        disk_available_ -= lost;
        cursor_.offset += bad_bytes;
        cursor_.seq = skip_to;
      }
    }
    if (disk_available_ == 0) {
      disk_mode_ = false;
      spill_times_.clear();
    }
  }

  /// When a record read back from disk became durable. Called with mutex_ held.
  clock::time_point spooled_at(std::uint64_t seq) {
    while (spill_times_.size() > 1 && spill_times_[1].first <= seq) spill_times_.pop_front();
    if (!spill_times_.empty() && spill_times_.front().first <= seq) return spill_times_.front().second;
    return recovered_at_;
  }

  /// The same without forgetting older spills, for snapshots. Called with mutex_ held.
  clock::time_point spooled_at_of(std::uint64_t seq) const {
    auto it = std::upper_bound(spill_times_.begin(), spill_times_.end(), seq,
                               [](std::uint64_t s, const auto& spill) { return s < spill.first; });
    return it == spill_times_.begin() ? recovered_at_ : std::prev(it)->second;
  }

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

  bool closed_ = false;
  bool close_requested_ = false;
  bool close_done_ = false;
  bool stopping_ = false;
  stats stats_;

  // Owned by the appender thread.
  int active_fd_ = -1;
  std::uint64_t active_key_ = 0;
  std::thread appender_;
};

}  // namespace

std::unique_ptr<journal> open_file_journal(const spool_config& config, recovery_report& report,
                                           std::shared_ptr<file_ops> ops) {
  auto recovered = detail::recover_spool(*ops, config.dir, report);
  spdlog::info("spool {}: {}", config.dir, describe(report));
  return std::make_unique<file_journal>(config, std::move(ops), std::move(recovered));
}

}  // namespace dlrd::spool
