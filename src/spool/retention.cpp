// Committed records kept for a while (spool.retain_committed), read back for a replay when
// the database lost commits it had confirmed, and the identity of the database they went to.
#include "file_journal_impl.hpp"
#include "format.hpp"

#include <spdlog/spdlog.h>

namespace dlrd::spool {
namespace detail {

namespace {

constexpr const char* identity_name = "database";

/// Reads the segments it was given one at a time (each whole, up to its synced prefix).
class segment_replay final : public replay_reader {
 public:
  struct source {
    std::string path;
    std::uint64_t bytes = 0;
  };

  segment_replay(file_journal& journal, file_ops& ops, std::vector<source> sources)
      : journal_(journal), ops_(ops), sources_(std::move(sources)) {}
  ~segment_replay() override { journal_.unpin(); }
  segment_replay(const segment_replay&) = delete;
  segment_replay& operator=(const segment_replay&) = delete;

  std::vector<record> next(std::size_t max) override {
    std::vector<record> out;
    const auto now = clock::now();
    while (out.size() < max) {
      if (offset_ >= bytes_.size() && !load_next()) break;
      decoded_record r;
      std::string reason;
      if (decode_frame(std::string_view(bytes_).substr(offset_), r, &reason) != problem_kind::none) {
        spdlog::warn("spool replay: {} at offset {} of {}; the rest of that segment is not replayed", reason,
                     offset_, sources_[index_ - 1].path);
        offset_ = bytes_.size();
        continue;
      }
      out.push_back(record{r.seq, std::string(r.payload), now});
      offset_ += r.size;
    }
    return out;
  }

 private:
  bool load_next() {
    bytes_.clear();
    offset_ = 0;
    while (index_ < sources_.size()) {
      const auto& s = sources_[index_++];
      if (auto ec = ops_.read(s.path, 0, s.bytes, bytes_)) {
        spdlog::warn("spool replay: cannot read {}: {}", s.path, ec.message());
        continue;
      }
      if (!bytes_.empty()) return true;
    }
    return false;
  }

  file_journal& journal_;
  file_ops& ops_;
  std::vector<source> sources_;
  std::size_t index_ = 0;
  std::string bytes_;
  std::size_t offset_ = 0;
};

}  // namespace

std::unique_ptr<replay_reader> file_journal::replay() {
  if (config_.retain_committed.count() == 0) return nullptr;
  std::vector<segment_replay::source> sources;
  std::lock_guard lock(mutex_);
  for (const auto& [key, r] : retained_) sources.push_back({r.path, r.bytes});
  for (const auto& [key, seg] : segments_) sources.push_back({seg.path, seg.durable_bytes});
  ++replay_pins_;
  return std::make_unique<segment_replay>(*this, *ops_, std::move(sources));
}

void file_journal::unpin() {
  std::lock_guard lock(mutex_);
  --replay_pins_;
}

void file_journal::release_segments() {
  const auto now = clock::now();
  std::vector<std::string> doomed;
  {
    std::lock_guard lock(mutex_);
    if (replay_pins_ > 0) return;
    const bool retain = config_.retain_committed.count() > 0;
    for (auto it = segments_.begin(); it != segments_.end();) {
      const auto& seg = it->second;
      if (!seg.sealed || seg.last_assigned > persisted_checkpoint_) {
        ++it;
        continue;
      }
      live_bytes_ -= seg.durable_bytes;
      if (retain) {
        retained_bytes_ += seg.durable_bytes;
        retained_[it->first] = retained_segment{seg.path, seg.durable_bytes, now};
      } else {
        doomed.push_back(seg.path);
      }
      it = segments_.erase(it);
    }
    // Oldest first: past the window, or over the byte bound.
    while (!retained_.empty()) {
      const auto& oldest = retained_.begin()->second;
      if (now - oldest.since < config_.retain_committed && retained_bytes_ <= config_.retain_committed_max_bytes) break;
      retained_bytes_ -= oldest.bytes;
      doomed.push_back(oldest.path);
      retained_.erase(retained_.begin());
    }
  }
  for (const auto& path : doomed) {
    auto ec = ops_->unlink(path);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      spdlog::warn("spool {}: cannot delete {}: {}", config_.dir, path, ec.message());
    }
  }
}

std::error_code file_journal::write_small_file(const char* name, const std::string& text) {
  auto temp = join_path(config_.dir, std::string(name) + ".tmp");
  int fd = -1;
  auto ec = ops_->open(temp, open_mode::create_or_truncate, fd);
  if (!ec) {
    ec = ops_->write(fd, text.data(), text.size());
    if (!ec && config_.fsync) ec = ops_->sync_data(fd);
    auto close_ec = ops_->close(fd);
    if (!ec) ec = close_ec;
  }
  if (!ec) ec = ops_->rename(temp, join_path(config_.dir, name));
  if (!ec && config_.fsync) ec = ops_->sync_dir(config_.dir);
  return ec;
}

std::string file_journal::database_identity() const {
  std::lock_guard lock(mutex_);
  return database_identity_;
}

void file_journal::set_database_identity(const std::string& identity) {
  {
    std::lock_guard lock(mutex_);
    if (identity == database_identity_) return;
    database_identity_ = identity;
  }
  if (auto ec = write_small_file(identity_name, identity)) {
    spdlog::warn("spool {}: cannot record the database identity: {}", config_.dir, ec.message());
  }
}

std::string read_database_identity(file_ops& ops, const std::string& dir) {
  std::string text;
  if (ops.read(join_path(dir, identity_name), 0, 4096, text)) return {};
  return text;
}

}  // namespace detail
}  // namespace dlrd::spool
