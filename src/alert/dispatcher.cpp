// Per-sink dispatch loops: claim, rate-limit into digests, send, record, back off.
#include <dlrd/alert/dispatcher.hpp>

#include <dlrd/alert/format.hpp>
#include <dlrd/net/client.hpp>
#include <dlrd/store/outbox.hpp>

#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
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

void dispatcher::impl::run(std::size_t index) {
  sink& out = *sinks[index];
  atomic_counters& count = *counts[index];
  const auto& sc = out.config();
  const std::string& name = sc.name;
  store::outbox box(db);
  std::mt19937_64 rng(std::random_device{}() ^ index);
  std::deque<clock::time_point> recent;      // messages sent within the rate window
  std::vector<store::notice> held;           // over the limit: waiting for the next digest
  auto limit = static_cast<std::size_t>(sc.max_per_minute);

  auto fail = [&](std::span<const store::notice> notices, const std::string& error, bool now) {
    std::vector<store::retry_at> retries;
    for (const auto& n : notices) {
      retries.push_back({n.id, now ? std::chrono::milliseconds{0} : backoff(config.retry, n.attempts, rng)});
    }
    count.failed += notices.size();
    record(name, "failures", [&] { box.mark_failed(name, retries, error); });
  };

  while (!stopping) {
    auto now = clock::now();
    while (!recent.empty() && recent.front() + options.rate_window <= now) recent.pop_front();

    // A digest goes out when the window has room again, carrying everything held meanwhile.
    if (!held.empty() && recent.size() < limit) {
      auto d = make_digest(held);
      auto r = out.send(d, &stopping);
      if (r.ok) {
        recent.push_back(clock::now());
        count.digests += 1;
        count.digested += held.size();
        record(name, "a digest", [&] { box.mark_sent(name, d.notice_ids, true); });
      } else {
        spdlog::warn("alert: sink {}: digest of {} notices failed: {}", name, held.size(), r.error);
        fail(held, r.error, stopping);
      }
      held.clear();
    }

    bool busy = false;
    if (held.size() < options.held_max) {
      store::claim_result claimed;
      try {
        claimed = box.claim(name, std::min(config.batch, options.held_max - held.size()), config.max_age,
                            options.lease);
      } catch (const std::exception& e) {
        spdlog::warn("alert: sink {}: claiming notices failed: {}", name, e.what());
      }
      if (claimed.dropped_stale > 0) {
        count.dropped += claimed.dropped_stale;
        spdlog::warn("alert: sink {}: dropped {} notices older than max_age", name, claimed.dropped_stale);
      }
      count.claimed += claimed.notices.size();
      busy = claimed.notices.size() + claimed.dropped_stale >= config.batch;

      std::vector<std::int64_t> sent;
      std::size_t i = 0;
      for (; i < claimed.notices.size() && !stopping; ++i) {
        const auto& n = claimed.notices[i];
        // Over the limit, failures wait for one digest; a rate rule's notice (rare by design:
        // one per group and transition) always goes out on its own.
        if (recent.size() >= limit && !is_rule_notice(n)) {
          held.push_back(n);
          continue;
        }
        auto r = out.send(n, &stopping);
        if (!r.ok) {
          // The sink is failing: the rest of this batch waits too instead of each timing out.
          spdlog::warn("alert: sink {}: sending notice {} failed: {}", name, n.id, r.error);
          busy = false;
          break;
        }
        recent.push_back(clock::now());
        sent.push_back(n.id);
      }
      count.sent += sent.size();
      record(name, "sent notices", [&] { box.mark_sent(name, sent); });
      if (i < claimed.notices.size()) {
        std::span<const store::notice> rest(claimed.notices.begin() + static_cast<std::ptrdiff_t>(i),
                                            claimed.notices.end());
        fail(rest, stopping ? "dispatcher stopped" : "sink failed", stopping.load());
      }
    }

    if (busy) continue;
    auto next = clock::now() + config.poll_interval;
    if (!held.empty() && !recent.empty()) next = std::min(next, recent.front() + options.rate_window);
    if (sleep_until(next)) break;
  }
  if (!held.empty()) fail(held, "dispatcher stopped", true);
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
    impl_->threads.emplace_back([this, i] {
      try {
        impl_->run(i);
      } catch (const std::exception& e) {
        spdlog::error("alert: sink {} stopped: {}", impl_->sinks[i]->config().name, e.what());
      }
    });
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
