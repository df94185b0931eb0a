// The durable file journal: one appender thread group-commits units into segment
// files; writers take durable records in order from memory or, past the cache, from
// the segments; a checkpoint of the committed prefix lets old segments be deleted.
#include "file_journal_impl.hpp"
#include "format.hpp"

#include <dlrd/common/thread_name.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dlrd::spool {
namespace detail {

file_journal::file_journal(const spool_config& config, std::shared_ptr<file_ops> ops, detail::recovered_spool recovered)
    : config_(config), ops_(std::move(ops)), recovered_at_(clock::now()) {
  next_seq_ = recovered.next_seq;
  persisted_checkpoint_ = recovered.checkpoint;
  for (const auto& s : recovered.segments) {
    segments_[s.first_seq] = segment{s.path, s.bytes, s.last_seq, s.last_seq, true};
    live_bytes_ += s.bytes;
  }
  for (const auto& s : recovered.committed) {
    retained_[s.first_seq] = retained_segment{s.path, s.bytes, recovered_at_};
    retained_bytes_ += s.bytes;
  }
  database_identity_ = read_database_identity(*ops_, config_.dir);
  if (recovered.replay_records > 0) {
    disk_mode_ = true;
    cursor_ = disk_cursor{recovered.replay_segment, recovered.replay_offset, recovered.replay_seq};
    disk_available_ = recovered.replay_records;
  }
  stats_.appender_heartbeat = clock::now();
  appender_ = named_thread("dlrd-spool", [this] { run(); });
}

file_journal::~file_journal() {
  close();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  ready_.notify_all();
  appender_.join();
}

void file_journal::append(std::vector<std::string> payloads, append_handler handler) {
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

std::vector<record> file_journal::take(std::size_t max, std::chrono::milliseconds linger, clock::time_point deadline) {
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

void file_journal::commit(const std::vector<std::uint64_t>& seqs) {
  std::lock_guard lock(mutex_);
  for (auto s : seqs) {
    if (taken_.erase(s) > 0) ++stats_.records_committed;
  }
}

void file_journal::close() {
  std::unique_lock lock(mutex_);
  if (!closed_) {
    closed_ = true;
    close_requested_ = true;
    work_.notify_all();
  }
  ready_.notify_all();
  idle_.wait(lock, [this] { return close_done_; });
}

stats file_journal::snapshot() const {
  std::lock_guard lock(mutex_);
  auto s = stats_;
  s.backlog_records = cache_.size() + disk_available_ + taken_.size();
  s.backlog_bytes = live_bytes_;
  s.retained_segments = retained_.size();
  s.retained_bytes = retained_bytes_;
  // Records leave in seq order: the taken ones are older than the cached, which are older
  // than those still on disk.
  if (!taken_.empty()) s.oldest_spooled_at = taken_.begin()->second;
  else if (!cache_.empty()) s.oldest_spooled_at = cache_.front().spooled_at;
  else if (disk_available_ > 0) s.oldest_spooled_at = spooled_at_of(cursor_.seq);
  return s;
}

void file_journal::run() {
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

/// When a record read back from disk became durable. Called with mutex_ held.
clock::time_point file_journal::spooled_at(std::uint64_t seq) {
  while (spill_times_.size() > 1 && spill_times_[1].first <= seq) spill_times_.pop_front();
  if (!spill_times_.empty() && spill_times_.front().first <= seq) return spill_times_.front().second;
  return recovered_at_;
}

/// The same without forgetting older spills, for snapshots. Called with mutex_ held.
clock::time_point file_journal::spooled_at_of(std::uint64_t seq) const {
  auto it = std::upper_bound(spill_times_.begin(), spill_times_.end(), seq,
                             [](std::uint64_t s, const auto& spill) { return s < spill.first; });
  return it == spill_times_.begin() ? recovered_at_ : std::prev(it)->second;
}

}  // namespace detail

std::unique_ptr<journal> open_file_journal(const spool_config& config, recovery_report& report,
                                           std::shared_ptr<file_ops> ops) {
  auto recovered = detail::recover_spool(*ops, config.dir, report, config.retain_committed.count() > 0);
  spdlog::info("spool {}: {}", config.dir, describe(report));
  return std::make_unique<detail::file_journal>(config, std::move(ops), std::move(recovered));
}

}  // namespace dlrd::spool
