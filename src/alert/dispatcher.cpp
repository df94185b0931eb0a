// Per-sink dispatch loops: claim, rate-limit into digests, send, record, back off.
#include <dlrd/alert/dispatcher.hpp>

#include <dlrd/alert/format.hpp>
#include <dlrd/common/thread_name.hpp>
#include <dlrd/net/client.hpp>
#include <dlrd/store/outbox.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <thread>

namespace dlrd::alert {

namespace {

using clock = std::chrono::steady_clock;

struct atomic_counters {
  std::atomic<std::uint64_t> claimed{0}, sent{0}, digested{0}, digests{0}, failed{0}, dropped{0};
};

}  // namespace

struct dispatcher::impl {
  store::database_config db;
  alert_config config;
  dispatcher_options options;
  std::vector<std::unique_ptr<sink>> sinks;
  std::vector<std::unique_ptr<atomic_counters>> counts;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;

  void run(std::size_t index);
  // Waits until `until` or stop; true when stopping.
  bool sleep_until(clock::time_point until) {
    std::unique_lock lock(mutex);
    return wake.wait_until(lock, until, [&] { return stopping.load(); });
  }
};

namespace {

// Bookkeeping writes are retried briefly: failing them means a resend after the lease.
template <typename F>
void record(const std::string& sink, const char* what, F&& f) {
  for (int attempt = 1;; ++attempt) {
    try {
      f();
      return;
    } catch (const std::exception& e) {
      if (attempt == 3) {
        spdlog::error("alert: sink {}: recording {} failed: {}", sink, what, e.what());
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
    }
  }
}

}  // namespace

namespace {

/// One sink's loop state: its rate window, the notices held for the next digest, and what
/// it records in the outbox.
class sink_loop {
 public:
  sink_loop(const alert_config& config, const dispatcher_options& options, const store::database_config& db,
            sink& out, atomic_counters& count, const std::atomic<bool>& stopping, std::size_t index)
      : config_(config), options_(options), out_(out), count_(count), stopping_(stopping),
        name_(out.config().name), box_(db), rng_(std::random_device{}() ^ index),
        limit_(static_cast<std::size_t>(out.config().max_per_minute)) {}

  /// One round: a due digest, then a claim sent one by one. Returns when to poll next, or
  /// std::nullopt when a full batch was claimed and the next round should start at once.
  std::optional<clock::time_point> round() {
    auto now = clock::now();
    while (!recent_.empty() && recent_.front() + options_.rate_window <= now) recent_.pop_front();
    send_digest();
    if (held_.size() < options_.held_max && claim_and_send()) return std::nullopt;
    auto next = clock::now() + config_.poll_interval;
    if (!held_.empty() && !recent_.empty()) next = std::min(next, recent_.front() + options_.rate_window);
    return next;
  }

  /// On stop: what is held goes back to the outbox, due at once.
  void release() {
    if (!held_.empty()) fail(held_, "dispatcher stopped", true);
  }

 private:
  void fail(std::span<const store::notice> notices, const std::string& error, bool now) {
    std::vector<store::retry_at> retries;
    for (const auto& n : notices) {
      retries.push_back({n.id, now ? std::chrono::milliseconds{0} : backoff(config_.retry, n.attempts, rng_)});
    }
    count_.failed += notices.size();
    record(name_, "failures", [&] { box_.mark_failed(name_, retries, error); });
  }

  // A digest goes out when the window has room again, carrying everything held meanwhile.
  void send_digest() {
    if (held_.empty() || recent_.size() >= limit_) return;
    auto d = make_digest(held_);
    auto r = out_.send(d, &stopping_);
    if (r.ok) {
      recent_.push_back(clock::now());
      count_.digests += 1;
      count_.digested += held_.size();
      record(name_, "a digest", [&] { box_.mark_sent(name_, d.notice_ids, true); });
    } else {
      spdlog::warn("alert: sink {}: digest of {} notices failed: {}", name_, held_.size(), r.error);
      fail(held_, r.error, stopping_);
    }
    held_.clear();
  }

  /// Claims a batch and sends it; true when the batch was full (more may be waiting).
  bool claim_and_send() {
    store::claim_result claimed;
    try {
      claimed = box_.claim(name_, std::min(config_.batch, options_.held_max - held_.size()), config_.max_age,
                           options_.lease);
    } catch (const std::exception& e) {
      spdlog::warn("alert: sink {}: claiming notices failed: {}", name_, e.what());
    }
    if (claimed.dropped_stale > 0) {
      count_.dropped += claimed.dropped_stale;
      spdlog::warn("alert: sink {}: dropped {} notices older than max_age", name_, claimed.dropped_stale);
    }
    count_.claimed += claimed.notices.size();
    bool busy = claimed.notices.size() + claimed.dropped_stale >= config_.batch;

    std::vector<std::int64_t> sent;
    std::size_t i = 0;
    for (; i < claimed.notices.size() && !stopping_; ++i) {
      const auto& n = claimed.notices[i];
      // Over the limit, failures wait for one digest; a rate rule's notice (rare by design:
      // one per group and transition) always goes out on its own.
      if (recent_.size() >= limit_ && !is_rule_notice(n)) {
        held_.push_back(n);
        continue;
      }
      auto r = out_.send(n, &stopping_);
      if (!r.ok) {
        // The sink is failing: the rest of this batch waits too instead of each timing out.
        spdlog::warn("alert: sink {}: sending notice {} failed: {}", name_, n.id, r.error);
        busy = false;
        break;
      }
      recent_.push_back(clock::now());
      sent.push_back(n.id);
    }
    count_.sent += sent.size();
    record(name_, "sent notices", [&] { box_.mark_sent(name_, sent); });
    if (i < claimed.notices.size()) {
      std::span<const store::notice> rest(claimed.notices.begin() + static_cast<std::ptrdiff_t>(i),
                                          claimed.notices.end());
      fail(rest, stopping_ ? "dispatcher stopped" : "sink failed", stopping_.load());
    }
    return busy;
  }

  const alert_config& config_;
  const dispatcher_options& options_;
  sink& out_;
  atomic_counters& count_;
  const std::atomic<bool>& stopping_;
  const std::string name_;
  store::outbox box_;
  std::mt19937_64 rng_;
  std::deque<clock::time_point> recent_;  // messages sent within the rate window
  std::vector<store::notice> held_;       // over the limit: waiting for the next digest
  const std::size_t limit_;
};

}  // namespace

void dispatcher::impl::run(std::size_t index) {
  sink_loop loop(config, options, db, *sinks[index], *counts[index], stopping, index);
  while (!stopping) {
    auto next = loop.round();
    if (next && sleep_until(*next)) break;
  }
  loop.release();
}

dispatcher::dispatcher(store::database_config db, alert_config config, dispatcher_options options)
    : dispatcher(db, config, {}, options) {
  auto client = std::make_shared<const net::client>();
  for (const auto& sc : impl_->config.sinks) impl_->sinks.push_back(make_sink(sc, client));
  for (std::size_t i = 0; i < impl_->sinks.size(); ++i) impl_->counts.push_back(std::make_unique<atomic_counters>());
}

dispatcher::dispatcher(store::database_config db, alert_config config, std::vector<std::unique_ptr<sink>> sinks,
                       dispatcher_options options)
    : impl_(std::make_unique<impl>()) {
  impl_->db = std::move(db);
  impl_->config = std::move(config);
  impl_->options = options;
  impl_->sinks = std::move(sinks);
  for (std::size_t i = 0; i < impl_->sinks.size(); ++i) impl_->counts.push_back(std::make_unique<atomic_counters>());
}

dispatcher::~dispatcher() { stop(); }

void dispatcher::start() {
  if (!impl_->threads.empty()) return;
  impl_->stopping = false;
  for (std::size_t i = 0; i < impl_->sinks.size(); ++i) {
    impl_->threads.push_back(named_thread("dlrd-alert-" + std::to_string(i), [this, i] {
      try {
        impl_->run(i);
      } catch (const std::exception& e) {
        spdlog::error("alert: sink {} stopped: {}", impl_->sinks[i]->config().name, e.what());
      }
    }));
  }
}

void dispatcher::stop() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

std::vector<sink_counters> dispatcher::counters() const {
  std::vector<sink_counters> out;
  for (std::size_t i = 0; i < impl_->sinks.size(); ++i) {
    const auto& c = *impl_->counts[i];
    out.push_back({impl_->sinks[i]->config().name, c.claimed, c.sent, c.digested, c.digests, c.failed, c.dropped});
  }
  return out;
}

}  // namespace dlrd::alert
