// In-memory journal: a bounded deque of records behind one mutex.
#include <dlrd/spool/spool.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <map>

namespace dlrd::spool {

const char* to_string(append_result r) noexcept {
  switch (r) {
    case append_result::durable: return "durable";
    case append_result::full: return "full";
    case append_result::io_error: return "io_error";
    case append_result::stopped: return "stopped";
  }
  return "unknown";
}

namespace {

class memory_journal final : public journal {
 public:
  explicit memory_journal(memory_config c) : config_(c) {}

  void append(std::vector<std::string> payloads, append_handler handler) override {
    append_result result = append_result::durable;
    {
      std::lock_guard lock(mutex_);
      if (closed_) {
        result = append_result::stopped;
      } else if (held_ + payloads.size() > config_.max_records) {
        result = append_result::full;
        ++stats_.appends_full;
      } else {
        auto now = std::chrono::steady_clock::now();
        for (auto& p : payloads) {
          queue_.push_back(record{next_seq_++, std::move(p), now});
        }
        held_ += payloads.size();
        stats_.records_appended += payloads.size();
      }
    }
    if (result == append_result::durable) ready_.notify_all();
    handler(result);
  }

  std::vector<record> take(std::size_t max, std::chrono::milliseconds linger,
                           std::chrono::steady_clock::time_point deadline) override {
    std::vector<record> out;
    std::unique_lock lock(mutex_);
    if (!ready_.wait_until(lock, deadline, [&] { return !queue_.empty() || closed_; })) return out;
    if (queue_.empty()) return out;
    if (queue_.size() < max && !closed_) {
      auto until = std::min(deadline, std::chrono::steady_clock::now() + linger);
      ready_.wait_until(lock, until, [&] { return queue_.size() >= max || closed_; });
    }
    while (!queue_.empty() && out.size() < max) {
      taken_.emplace(queue_.front().seq, queue_.front().spooled_at);
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return out;
  }

  void commit(const std::vector<std::uint64_t>& seqs) override {
    std::lock_guard lock(mutex_);
    for (auto s : seqs) {
      if (taken_.erase(s) > 0) {
        --held_;
        ++stats_.records_committed;
      }
    }
  }

  void close() override {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  stats snapshot() const override {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.backlog_records = held_;
    s.appender_heartbeat = std::chrono::steady_clock::now();
    if (!taken_.empty()) s.oldest_spooled_at = taken_.begin()->second;
    else if (!queue_.empty()) s.oldest_spooled_at = queue_.front().spooled_at;
    return s;
  }

 private:
  memory_config config_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<record> queue_;
  std::size_t held_ = 0;  // taken or waiting, not yet committed
  std::map<std::uint64_t, std::chrono::steady_clock::time_point> taken_;  // seq -> spooled at
  std::uint64_t next_seq_ = 1;
  bool closed_ = false;
  stats stats_;
};

}  // namespace

std::unique_ptr<journal> make_memory_journal(memory_config config) {
  return std::make_unique<memory_journal>(config);
}

}  // namespace dlrd::spool
