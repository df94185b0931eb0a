// Helpers for the spool tests: a temp directory, a simulated file system that can
// fail on demand and lose what was not synced, and blocking wrappers over the journal.
#pragma once

#include <dlrd/spool/config.hpp>
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/file_ops.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::spool::test {

/// A fresh directory under /tmp, removed with everything in it at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dlrd-spool-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// An in-memory file system for one spool directory. Each file keeps what was written
/// before its last sync as its durable content; the directory keeps the entries present
/// at its last sync. `crash()` throws away what was not durable (keeping a random part
/// of unsynced appends, as a torn write would). Failures can be injected at the Nth
/// write or sync, or from the Nth mutating call on (`freeze_at`: the instant of a crash,
/// after which nothing reaches the disk).
class sim_fs final : public file_ops {
 public:
  void fail_write_at(std::uint64_t n) { std::lock_guard l(m_); fail_write_at_ = writes_ + n; }
  void fail_sync_at(std::uint64_t n) { std::lock_guard l(m_); fail_sync_at_ = syncs_ + n; }
  void freeze_at(std::uint64_t n) { std::lock_guard l(m_); freeze_at_ = mutations_ + n; }
  void set_sync_delay(std::chrono::microseconds d) { std::lock_guard l(m_); sync_delay_ = d; }
  /// Every truncate fails with ENOSPC while set.
  void fail_truncates(bool on) { std::lock_guard l(m_); fail_truncates_ = on; }

  std::uint64_t data_syncs() const { std::lock_guard l(m_); return data_syncs_; }
  std::uint64_t syncs() const { std::lock_guard l(m_); return syncs_; }
  std::uint64_t mutations() const { std::lock_guard l(m_); return mutations_; }
  bool frozen() const { std::lock_guard l(m_); return freeze_at_ != 0 && mutations_ >= freeze_at_; }

  /// Power loss: only durable state survives, plus a random prefix of the unsynced bytes
  /// (appended, or written over durable ones) and a random choice for each directory entry
  /// changed since the last directory sync.
  void crash(std::mt19937_64& rng) {
    std::lock_guard l(m_);
    for (auto& [id, f] : files_) {
      auto same = std::mismatch(f.data.begin(), f.data.begin() + std::min(f.data.size(), f.durable.size()),
                                f.durable.begin()).first - f.data.begin();
      auto from = static_cast<std::size_t>(same);
      if (f.data.size() >= f.durable.size() && f.data.size() > from && rng() % 2) {
        auto cut = from + rng() % (f.data.size() - from + 1);
        f.data = f.data.substr(0, cut) + (cut < f.durable.size() ? f.durable.substr(cut) : std::string());
      } else {
        f.data = f.durable;
      }
      f.durable = f.data;
    }
    std::set<std::string> paths;
    for (auto& [p, id] : entries_) paths.insert(p);
    for (auto& [p, id] : durable_entries_) paths.insert(p);
    std::map<std::string, int> survived;
    for (const auto& p : paths) {
      auto now = entries_.find(p);
      auto then = durable_entries_.find(p);
      bool same = (now == entries_.end()) == (then == durable_entries_.end()) &&
                  (now == entries_.end() || now->second == then->second);
      if (same || rng() % 2) {
        if (now != entries_.end()) survived[p] = now->second;
      } else if (then != durable_entries_.end()) {
        survived[p] = then->second;
      }
    }
    entries_ = survived;
    durable_entries_ = survived;
    fds_.clear();
    freeze_at_ = fail_write_at_ = fail_sync_at_ = 0;
  }

  std::string content(const std::string& path) const {
    std::lock_guard l(m_);
    auto it = entries_.find(path);
    return it == entries_.end() ? std::string() : files_.at(it->second).data;
  }
  void set_content(const std::string& path, std::string data) {
    std::lock_guard l(m_);
    auto& f = files_[entry(path, true)];
    f.data = data;
    f.durable = std::move(data);
    durable_entries_ = entries_;
  }
  std::vector<std::string> names() const {
    std::lock_guard l(m_);
    std::vector<std::string> out;
    for (auto& [p, id] : entries_) out.push_back(p.substr(p.rfind('/') + 1));
    return out;
  }

  std::error_code open(const std::string& path, open_mode mode, int& fd) override {
    std::lock_guard l(m_);
    if (auto ec = mutate()) return ec;
    bool exists = entries_.contains(path);
    if (mode == open_mode::create_new && exists) return err(EEXIST);
    int id = entry(path, true);
    if (mode == open_mode::create_or_truncate) files_[id].data.clear();
    fd = next_fd_++;
    fds_[fd] = id;
    return {};
  }
  std::error_code write(int fd, const void* data, std::size_t n) override {
    std::lock_guard l(m_);
    return put(fd, std::nullopt, data, n);
  }
  std::error_code write_at(int fd, std::uint64_t offset, const void* data, std::size_t n) override {
    std::lock_guard l(m_);
    return put(fd, offset, data, n);
  }
  std::error_code sync_data(int fd) override { return sync_fd(fd, true); }
  std::error_code sync_file(int fd) override { return sync_fd(fd, false); }
  std::error_code close(int fd) override {
    std::lock_guard l(m_);
    return fds_.erase(fd) ? std::error_code{} : err(EBADF);
  }
  std::error_code sync_dir(const std::string&) override {
    std::lock_guard l(m_);
    ++syncs_;
    if (auto ec = mutate()) return ec;
    if (fail_sync_at_ != 0 && syncs_ == fail_sync_at_) return err(EIO);
    durable_entries_ = entries_;
    return {};
  }
  std::error_code rename(const std::string& from, const std::string& to) override {
    std::lock_guard l(m_);
    if (auto ec = mutate()) return ec;
    auto it = entries_.find(from);
    if (it == entries_.end()) return err(ENOENT);
    entries_[to] = it->second;
    entries_.erase(from);
    return {};
  }
  std::error_code unlink(const std::string& path) override {
    std::lock_guard l(m_);
    if (auto ec = mutate()) return ec;
    return entries_.erase(path) ? std::error_code{} : err(ENOENT);
  }
  std::error_code truncate(const std::string& path, std::uint64_t size) override {
    std::lock_guard l(m_);
    if (fail_truncates_) return err(ENOSPC);
    if (auto ec = mutate()) return ec;
    auto it = entries_.find(path);
    if (it == entries_.end()) return err(ENOENT);
    auto& f = files_[it->second];
    f.data.resize(size);
    f.durable = f.data;
    return {};
  }
  std::error_code read(const std::string& path, std::uint64_t offset, std::size_t max, std::string& out) override {
    std::lock_guard l(m_);
    out.clear();
    auto it = entries_.find(path);
    if (it == entries_.end()) return err(ENOENT);
    const auto& d = files_[it->second].data;
    if (offset < d.size()) out = d.substr(offset, max);
    return {};
  }
  std::error_code file_size(const std::string& path, std::uint64_t& size) override {
    std::lock_guard l(m_);
    auto it = entries_.find(path);
    if (it == entries_.end()) return err(ENOENT);
    size = files_[it->second].data.size();
    return {};
  }
  std::error_code list_dir(const std::string& dir, std::vector<std::string>& out) override {
    std::lock_guard l(m_);
    out.clear();
    for (auto& [p, id] : entries_) {
      if (p.substr(0, p.rfind('/')) == dir) out.push_back(p.substr(p.rfind('/') + 1));
    }
    return {};
  }
  std::error_code make_dirs(const std::string&) override { return {}; }

 private:
  struct file {
    std::string data;
    std::string durable;
  };
  static std::error_code err(int e) { return {e, std::generic_category()}; }
  std::error_code mutate() {
    ++mutations_;
    return freeze_at_ != 0 && mutations_ >= freeze_at_ ? err(EIO) : std::error_code{};
  }
  int entry(const std::string& path, bool create) {
    auto it = entries_.find(path);
    if (it != entries_.end()) return it->second;
    if (!create) return -1;
    int id = next_inode_++;
    files_[id];
    entries_[path] = id;
    return id;
  }
  /// One write at `offset`, or at the end of the file (write(2) on an appending file).
  std::error_code put(int fd, std::optional<std::uint64_t> offset, const void* data, std::size_t n) {
    ++writes_;
    if (auto ec = mutate()) return ec;
    auto it = fds_.find(fd);
    if (it == fds_.end()) return err(EBADF);
    auto& f = files_[it->second];
    const bool failing = fail_write_at_ != 0 && writes_ == fail_write_at_;
    if (failing) n /= 2;  // a failed write may leave part behind
    const auto at = offset.value_or(f.data.size());
    if (f.data.size() < at + n) f.data.resize(at + n);
    f.data.replace(at, n, static_cast<const char*>(data), n);
    return failing ? err(EIO) : std::error_code{};
  }
  std::error_code sync_fd(int fd, bool data_only) {
    std::chrono::microseconds delay;
    {
      std::lock_guard l(m_);
      delay = sync_delay_;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard l(m_);
    ++syncs_;
    if (data_only) ++data_syncs_;
    if (auto ec = mutate()) return ec;
    if (fail_sync_at_ != 0 && syncs_ == fail_sync_at_) return err(EIO);
    auto it = fds_.find(fd);
    if (it == fds_.end()) return err(EBADF);
    auto& f = files_[it->second];
    f.durable = f.data;
    return {};
  }

  mutable std::mutex m_;
  std::map<int, file> files_;
  std::map<std::string, int> entries_;
  std::map<std::string, int> durable_entries_;
  std::map<int, int> fds_;
  int next_fd_ = 3;
  int next_inode_ = 1;
  std::uint64_t writes_ = 0, syncs_ = 0, data_syncs_ = 0, mutations_ = 0;
  std::uint64_t fail_write_at_ = 0, fail_sync_at_ = 0, freeze_at_ = 0;
  std::chrono::microseconds sync_delay_{0};
  bool fail_truncates_ = false;
};

/// A config for tests: small segments, fast checkpoints, committed segments deleted at once
/// (retention_test.cpp covers spool.retain_committed).
inline spool_config test_config(const std::string& dir) {
  spool_config c;
  c.dir = dir;
  c.segment_bytes = 4096;
  c.max_bytes = 64u << 20;
  c.checkpoint_interval = std::chrono::milliseconds{5};
  c.retain_committed = std::chrono::milliseconds{0};
  return c;
}

/// Appends one unit and waits for its answer.
inline append_result append_wait(journal& j, std::vector<std::string> payloads) {
  auto done = std::make_shared<std::promise<append_result>>();
  auto f = done->get_future();
  j.append(std::move(payloads), [done](append_result r) { done->set_value(r); });
  return f.get();
}

/// Takes everything available (until a take comes back empty) and optionally commits it.
inline std::vector<record> take_all(journal& j, bool commit, std::chrono::milliseconds wait = std::chrono::milliseconds{100}) {
  std::vector<record> out;
  for (;;) {
    auto batch = j.take(1000, std::chrono::milliseconds{0}, std::chrono::steady_clock::now() + wait);
    if (batch.empty()) return out;
    if (commit) {
      std::vector<std::uint64_t> seqs;
      for (const auto& r : batch) seqs.push_back(r.seq);
      j.commit(seqs);
    }
    for (auto& r : batch) out.push_back(std::move(r));
  }
}

inline std::vector<std::string> payloads_of(const std::vector<record>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.payload);
  return out;
}

/// Polls `cond` for up to `limit`.
template <typename F>
bool eventually(F cond, std::chrono::milliseconds limit = std::chrono::milliseconds{3000}) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  }
  return cond();
}

inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n.size() > 4 && n.substr(n.size() - 4) == ".seg") out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace dlrd::spool::test
