// The file journal's disk side: group writes into segment files, sealing and opening
// segments, the checkpoint of the committed prefix, and reading records back from disk.
#include "file_journal_impl.hpp"
#include "format.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dlrd::spool::detail {

namespace {

/// How far ahead of the writes the active segment is zeroed (see zero_ahead).
constexpr std::uint64_t zero_step = 1u << 20;
static_assert(zero_step % zero_align == 0);

constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t unit) { return (n + unit - 1) / unit * unit; }

}  // namespace

/// Writes one group with one write (and the zeros ahead, when it reaches them) and one
/// fdatasync, then answers every unit.
void file_journal::write_group(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t bytes) {
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
  group_write w;
  if (count > 0) w = write_synced(buffer, first);
  const auto& [ec, op, offset, synced] = w;
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

/// Puts a group's bytes in the active segment (opening one when needed) and syncs them.
group_write file_journal::write_synced(const std::string& buffer, std::uint64_t first) {
  group_write w;
  if (active_fd_ >= 0) {
    std::unique_lock lock(mutex_);
    auto size = segments_[active_key_].durable_bytes;
    lock.unlock();
    if (size > 0 && size + buffer.size() > config_.segment_bytes) seal_active();
  }
  if (active_fd_ < 0) {
    if ((w.ec = open_segment(first, w.op))) return w;
  }
  {
    std::lock_guard lock(mutex_);
    w.offset = segments_[active_key_].durable_bytes;
  }
  auto end = w.offset + buffer.size();
  w.op = "write";
  w.ec = ops_->write_at(active_fd_, w.offset, buffer.data(), buffer.size());
  if (!w.ec && config_.fsync) w.ec = zero_ahead(end);
  // Whatever part of the group reached the file is cut off when the segment is sealed.
  active_zeroed_ = std::max(active_zeroed_, end);
  if (w.ec || !config_.fsync) return w;
  w.op = "fdatasync";
  w.synced = true;
  w.ec = ops_->sync_data(active_fd_);
  return w;
}

/// fdatasync must journal a change of the file's size or of its block map, and on ext4 that
/// costs several times a sync of data alone (docs/performance.md has the figures).
/// So the active segment is zeroed up to a step ahead of its records: most groups overwrite
/// bytes already written, and only the sync of the group that zeroes the next step pays.
/// Recovery reads a zero-filled tail as the segment's clean end (format.cpp).
std::error_code file_journal::zero_ahead(std::uint64_t end) {
  if (end < active_zeroed_) return {};
  static const std::string zeros(zero_step, '\0');
  // Up to a multiple of zero_align (how recovery tells these zeros from damage), at most
  // to the segment's size.
  auto limit = round_up(std::max<std::uint64_t>(end, config_.segment_bytes), zero_align);
  auto until = std::min(round_up(end + 1, zero_step), limit);
  if (until <= end) return {};
  if (auto ec = ops_->write_at(active_fd_, end, zeros.data(), until - end)) return ec;
  active_zeroed_ = until;
  return {};
}

/// Hands a durable group to takers: in memory while the cache has room, else from disk.
/// Called with mutex_ held.
void file_journal::publish(std::vector<unit>& group, std::uint64_t first, std::uint64_t count, std::uint64_t payload_bytes,
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
std::error_code file_journal::open_segment(std::uint64_t first, const char*& op) {
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
  active_zeroed_ = 0;
  if (!config_.fsync) return {};
  op = "fsync";
  if (auto ec = ops_->sync_file(fd)) return ec;
  op = "directory fsync";
  return ops_->sync_dir(config_.dir);
}

/// Stops writing to the active segment, cut back to its durable bytes; the next group
/// opens a new one.
void file_journal::seal_active() {
  if (active_fd_ < 0) return;
  if (auto ec = ops_->close(active_fd_)) spdlog::warn("spool {}: close failed: {}", config_.dir, ec.message());
  active_fd_ = -1;
  std::string path;
  std::uint64_t durable = 0;
  {
    std::lock_guard lock(mutex_);
    path = segments_[active_key_].path;
    durable = segments_[active_key_].durable_bytes;
  }
  // The zeros ahead (or a failed write's bytes) go before a newer segment exists: recovery
  // reads zeros as a clean end only in the newest one. A sealed segment may be deleted.
  if (active_zeroed_ > durable) {
    if (auto ec = ops_->truncate(path, durable)) {
      spdlog::warn("spool {}: cutting {} back to its records failed: {}", config_.dir, path, ec.message());
    }
  }
  active_zeroed_ = 0;
  std::lock_guard lock(mutex_);
  segments_[active_key_].sealed = true;
}

/// Every record <= the result is committed, failed, or was committed before the start.
/// Called with mutex_ held.
std::uint64_t file_journal::checkpoint_candidate() const {
  std::uint64_t floor = next_seq_;
  if (!cache_.empty()) floor = cache_.front().seq;
  else if (disk_available_ > 0) floor = cursor_.seq;
  else if (group_in_flight_) floor = inflight_first_;
  if (!taken_.empty()) floor = std::min(floor, taken_.begin()->first);
  floor = std::min(floor, unreadable_floor_);
  return std::max(persisted_checkpoint_, floor - 1);
}

/// Persists the checkpoint atomically, then deletes (or retains) the segments it covers.
void file_journal::write_checkpoint() {
  std::uint64_t candidate;
  {
    std::lock_guard lock(mutex_);
    candidate = checkpoint_candidate();
  }
  if (candidate != persisted_checkpoint_) {
    if (auto ec = write_small_file(detail::checkpoint_name, detail::encode_checkpoint(candidate))) {
      spdlog::error("spool {}: checkpoint write failed: {}", config_.dir, ec.message());
      return;
    }
    std::lock_guard lock(mutex_);
    persisted_checkpoint_ = candidate;
  }
  release_segments();
}

namespace {

/// What reading back from one segment at the cursor gave (read with the journal unlocked).
/// `decoded` records view into `bytes`, so the struct is filled in place, never moved.
struct chunk_read {
  std::vector<decoded_record> decoded;
  std::string bytes;
  std::error_code ec;
  bool damaged = false;
  std::string reason;
  std::size_t used = 0;                             // bytes of `decoded`, from the offset
  std::size_t resync_at = std::string_view::npos;   // damaged: the next valid record's offset
  decoded_record next;                              // and that record
};

/// Reads up to `want` records of `path` from `offset` (the synced prefix ends at `limit`;
/// `expected` is the next seq, `durable_last` the segment's last), in chunks of at most 1 MiB
/// unless one record is larger; on damage, looks for the next valid record after it.
void read_chunk(file_ops& ops, const std::string& path, std::uint64_t offset, std::uint64_t limit,
                std::uint64_t expected, std::uint64_t durable_last, std::size_t want, chunk_read& c) {
  auto& [decoded, bytes, ec, damaged, reason, used, resync_at, next] = c;
  std::uint64_t chunk = std::min<std::uint64_t>(limit - offset, std::uint64_t{1} << 20);
  for (;;) {
    ec = ops.read(path, offset, chunk, bytes);
    if (ec) break;
    used = 0;
    decoded.clear();
    damaged = false;
    while (decoded.size() < want && used < bytes.size()) {
      // Seqs increase by one, except across a gap that recovery left where damage was.
      auto min_seq = decoded.empty() ? expected : decoded.back().seq + 1;
      decoded_record r;
      auto p = decode_frame(std::string_view(bytes).substr(used), r, &reason);
      if (p == problem_kind::none && (r.seq < min_seq || r.seq > durable_last)) {
        p = problem_kind::corrupt;
        reason = "record sequence out of order";
      }
      if (p == problem_kind::torn && offset + bytes.size() < limit) break;  // continues past the chunk
      if (p != problem_kind::none) {
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
  if (!ec && damaged) {
    ec = ops.read(path, offset, limit - offset, bytes);
    if (!ec) {
      seq_window w;
      w.min = expected;
      w.max = durable_last;
      w.origin_seq = expected - 1;
      w.base_seq = expected - 1;
      resync_at = find_record(bytes, 1, w, next);
    }
  }
}

}  // namespace

/// Reads records back from the segments at the cursor. Called with take_mutex_ and
/// `lock` held; releases `lock` around the read.
void file_journal::read_back(std::unique_lock<std::mutex>& lock, std::vector<record>& out, std::size_t max) {
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

    lock.unlock();
    chunk_read c;
    read_chunk(*ops_, path, offset, limit, expected, durable_last, want, c);
    auto& [decoded, bytes, ec, damaged, reason, used, resync_at, next] = c;
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

}  // namespace dlrd::spool::detail
