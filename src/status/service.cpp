// The /v1/messages service: requests become jobs for a few PostgreSQL workers; long-polls
// become waiters (memory only) woken by the LISTEN thread or answered by the timer thread,
// whether or not dlrd has a row for their ids yet.
#include <dlrd/status/api.hpp>

#include "messages.hpp"
#include "notifier.hpp"
#include "routes.hpp"
#include "waiters.hpp"

#include <dlrd/common/thread_name.hpp>
#include <dlrd/store/status_db.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace dlrd::status {

namespace {

using clock = waiter_clock;
using std::chrono::milliseconds;

/// Registrations outlive their wait by this much, so that a slow registration is never
/// already expired when the writer looks at it.
constexpr milliseconds registration_slack{10'000};

std::vector<std::string> unique_ids(const std::vector<waiter_ptr>& waiters) {
  std::vector<std::string> ids;
  for (const auto& w : waiters) ids.insert(ids.end(), w->ids.begin(), w->ids.end());
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace

struct service::impl : std::enable_shared_from_this<impl> {
  /// Work for a PostgreSQL worker: a registration (batched with the others queued), or a job.
  struct job {
    waiter_ptr registration;
    std::function<void(store::connection&)> run;
    once done;  // answered with 503 when the job cannot run
  };

  status_api_config config;
  std::string url;

  mutable std::mutex mutex;
  std::condition_variable jobs_cv, timer_cv;
  std::deque<job> jobs;
  waiter_registry waiters;  // guarded by mutex
  std::size_t waiting = 0;  // waiters indexed or queued for registration
  bool stopping = false;
  bool started = false;
  std::vector<std::thread> workers;
  std::thread listener, timer;

  std::atomic<std::uint64_t> woken{0}, timed_out{0}, notifications{0}, refused{0}, renders{0};

  impl(status_api_config c, std::string u) : config(std::move(c)), url(std::move(u)) {}

  // ---- answers -------------------------------------------------------------------------

  /// Answers waiters taken from the registry: woken when all their messages are final, else
  /// timed out. Called without the lock.
  void reply(const std::vector<waiter_ptr>& finished) {
    renderer r(renders);
    for (const auto& w : finished) {
      bool final = w->all_final();
      ++(final ? woken : timed_out);
      w->done(r.render(*w, !final));
    }
  }

  /// New states for some ids: every waiter whose messages are now all final is answered.
  void apply(const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      finished = waiters.wake(states);
      waiting -= finished.size();
    }
    reply(finished);
  }

  /// Hands `states` to the given waiters only; those now all final are answered.
  void apply_to(const std::vector<waiter_ptr>& batch, const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      finished = waiters.hand(batch, states);
      waiting -= finished.size();
    }
    reply(finished);
  }

  /// Answers waiters whose time is up with `states` (or what they knew last).
  void expire(const std::vector<waiter_ptr>& due, const state_map& states) {
    std::vector<waiter_ptr> finished;
    {
      std::lock_guard lock(mutex);
      finished = waiters.settle(due, states);
      waiting -= finished.size();
    }
    reply(finished);
  }

  /// Answers 503 to every waiter of `batch` not answered yet, and forgets it (the waiting
  /// count and the index with it).
  void refuse_unanswered(const std::vector<waiter_ptr>& batch) {
    std::vector<waiter_ptr> failed;
    {
      std::lock_guard lock(mutex);
      for (const auto& w : batch) {
        if (w->answered) continue;
        waiters.remove(w);
        --waiting;
        failed.push_back(w);
      }
    }
    for (const auto& w : failed) {
      ++refused;
      w->done(unavailable("database unavailable, retry later"));
    }
  }

  // ---- requests ------------------------------------------------------------------------

  void submit(job j) {
    {
      std::lock_guard lock(mutex);
      if (!stopping && jobs.size() < config.max_queue) {
        jobs.push_back(std::move(j));
        jobs_cv.notify_one();
        return;
      }
    }
    ++refused;
    j.done(unavailable(stopping ? "shutting down, retry later" : "too many status requests, retry later"));
  }

  void lookup(std::string id, once done) {
    auto self = shared_from_this();
    submit(job{nullptr,
               [self, id, done](store::connection& db) {
                 auto states = store::read_messages(db, {id}, self->config.history_limit);
                 auto it = states.find(id);
                 if (it == states.end()) return done(error_answer(404, "no message with id '" + id + "'"));
                 done(json_answer(to_json(it->second)));
               },
               done});
  }

  void wait_for(std::vector<std::string> ids, bool batch, milliseconds wait, once done) {
    {
      std::lock_guard lock(mutex);
      if (waiting >= config.max_waiters) {
        ++refused;
        auto a = unavailable("too many waiting requests, retry later");
        done(std::move(a));
        return;
      }
      ++waiting;  // counted from now, so that the limit holds while registrations queue
    }
    auto w = std::make_shared<waiter>(done);
    w->ids = std::move(ids);
    w->batch = batch;
    w->deadline = clock::now() + wait;
    job j{w, nullptr, done};
    {
      std::lock_guard lock(mutex);
      if (!stopping && jobs.size() < config.max_queue) {
        jobs.push_back(std::move(j));
        jobs_cv.notify_one();
        return;
      }
      --waiting;
    }
    ++refused;
    done(unavailable(stopping ? "shutting down, retry later" : "too many status requests, retry later"));
  }

  void send(store::send_record record, once done) {
    auto send = std::make_shared<const store::send_record>(std::move(record));
    auto self = shared_from_this();
    submit(job{nullptr,
               [self, send, done](store::connection& db) {
                 done(json_answer(to_json(store::log_send(db, *send, self->config.history_limit))));
               },
               done});
  }

  void handle(const api_request& req, once done) {
    auto c = route(req, config);
    if (auto* a = std::get_if<answer>(&c)) return done(std::move(*a));
    if (auto* l = std::get_if<lookup_command>(&c)) return lookup(std::move(l->id), done);
    if (auto* w = std::get_if<wait_command>(&c)) return wait_for(std::move(w->ids), w->batch, w->wait, done);
    send(std::move(std::get<send_command>(c).send), done);
  }

  // ---- workers -------------------------------------------------------------------------

  /// Hands the first read to each waiter of a registration batch: those it answers (all
  /// final) go to `now`, the others (an id not final or with no row yet) to `later`.
  static void sort_out(const std::vector<waiter_ptr>& batch, const state_map& states, std::vector<waiter_ptr>& now,
                       std::vector<waiter_ptr>& later) {
    for (const auto& w : batch) {
      for (const auto& id : w->ids) {
        if (auto it = states.find(id); it != states.end()) w->set_state(id, it->second);
      }
      (w->all_final() ? now : later).push_back(w);
    }
  }

  /// The ids of `batch`'s waiters not answered yet that have no row in their reads.
  std::vector<std::string> unknown_ids(const std::vector<waiter_ptr>& batch) {
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mutex);
      for (const auto& w : batch) {
        if (w->answered) continue;
        auto u = w->unknown();
        ids.insert(ids.end(), u.begin(), u.end());
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  /// Registers waiters in one transaction: those already final are answered from a plain
  /// read; the rest are indexed in memory first, then registered in dlr_status_waiters and
  /// read again FOR SHARE (see sql/0008 for why nothing is lost). Ids with no row to lock
  /// are read once more after the registration commits (store::read_unregistered_rows).
  void register_waiters(store::connection& db, const std::vector<waiter_ptr>& batch) {
    std::vector<waiter_ptr> now, later;
    sort_out(batch, share(store::read_messages(db, unique_ids(batch), config.history_limit)), now, later);
    bool shutting_down = false;
    {
      std::lock_guard lock(mutex);
      // stop() has answered the indexed waiters already; these it could not see.
      shutting_down = stopping;
      if (shutting_down) now.insert(now.end(), later.begin(), later.end());
      for (const auto& w : now) w->answered = true;
      waiting -= now.size();
      if (!shutting_down) {
        for (const auto& w : later) waiters.add(w);
      }
    }
    timer_cv.notify_all();  // the listener may sleep on it too
    renderer r(renders);
    for (const auto& w : now) {
      bool final = w->all_final();  // not when shutting down
      ++(final ? woken : timed_out);
      w->done(r.render(*w, !final));
    }
    if (shutting_down || later.empty()) return;

    milliseconds longest{0};
    const auto t = clock::now();
    for (const auto& w : later) longest = std::max(longest, std::chrono::duration_cast<milliseconds>(w->deadline - t));
    state_map states;
    try {
      states = share(store::register_waiters(db, unique_ids(later), longest + registration_slack,
                                             config.history_limit));
    } catch (...) {
      // Not registered: these waiters could miss their wake-up, so they are refused.
      refuse_unanswered(later);
      throw;
    }
    // Only this batch's waiters: those registered before got their own read and are woken by
    // NOTIFY; handing them this read too would cost every registration O(waiters on its ids).
    apply_to(later, states);
    // A failure here leaves the waiters indexed but maybe missing a wake-up: the worker
    // refuses them, like those of a failed registration.
    if (auto unknown = unknown_ids(later); !unknown.empty()) {
      apply_to(later, share(store::read_unregistered_rows(db, unknown, config.history_limit)));
    }
  }

  void worker() {
    store::connection db(url);  // this worker's own; store reconnects it after a break
    std::unique_lock lock(mutex);
    for (;;) {
      jobs_cv.wait(lock, [this] { return stopping || !jobs.empty(); });
      if (stopping) return;
      std::vector<waiter_ptr> registrations;
      std::optional<job> single;
      if (jobs.front().registration) {
        // Every registration queued goes in one transaction, up to max_batch ids.
        std::size_t ids = 0;
        while (!jobs.empty() && jobs.front().registration && ids < config.max_batch) {
          ids += jobs.front().registration->ids.size();
          registrations.push_back(std::move(jobs.front().registration));
          jobs.pop_front();
        }
      } else {
        single = std::move(jobs.front());
        jobs.pop_front();
      }
      lock.unlock();
      try {
        if (single) single->run(db);
        else register_waiters(db, registrations);
      } catch (const std::exception& e) {
        spdlog::warn("status: request failed: {}", e.what());
        if (single) {
          ++refused;
          single->done(unavailable("database unavailable, retry later"));
        }
        // A connect or the first read failed before the waiters were answered or indexed:
        // without this they would hold their place under max_waiters and never be answered.
        refuse_unanswered(registrations);
      }
      lock.lock();
    }
  }

  // ---- wake-ups and timeouts -----------------------------------------------------------

  /// Reads the given ids (those still waited for) on `conn` and wakes their waiters.
  void refresh(store::connection& db, std::vector<std::string> ids) {
    {
      std::lock_guard lock(mutex);
      std::erase_if(ids, [this](const std::string& id) { return !waiters.waits_for(id); });
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (ids.empty()) return;
    apply(share(store::read_messages(db, ids, config.history_limit)));
  }

  std::vector<std::string> all_waited_ids() {
    std::lock_guard lock(mutex);
    return waiters.ids();
  }

  bool sleep_unless_stopping(milliseconds d) {
    std::unique_lock lock(mutex);
    return !timer_cv.wait_for(lock, d, [this] { return stopping; });
  }

  void run_timer() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      auto due = waiters.take_due(clock::now());
      if (!due.empty()) {
        lock.unlock();
        answer_due(std::move(due));
        lock.lock();
        continue;
      }
      // A copy: wait_until reads it again after waking, when another thread may have erased
      // the waiter it came from.
      if (auto next = waiters.next_deadline()) timer_cv.wait_until(lock, *next);
      else timer_cv.wait(lock);
    }
  }

  /// Timed-out waiters are answered with a fresh read (by a worker); if that cannot run,
  /// with what they knew.
  void answer_due(std::vector<waiter_ptr> due) {
    auto ids = unique_ids(due);
    auto self = shared_from_this();
    auto fallback = [self, due](answer) { self->expire(due, {}); };
    job j{nullptr,
          [self, due, ids](store::connection& db) {
            state_map states;
            try {
              states = share(store::read_messages(db, ids, self->config.history_limit));
            } catch (const std::exception& e) {
              spdlog::warn("status: reading timed-out messages failed: {}", e.what());
            }
            self->expire(due, states);
          },
          once(fallback)};
    {
      std::lock_guard lock(mutex);
      if (!stopping) {
        // Ahead of new requests: these clients have waited long enough.
        jobs.push_front(std::move(j));
        jobs_cv.notify_one();
        return;
      }
    }
    expire(due, {});
  }

  void start() {
    std::lock_guard lock(mutex);
    if (started) return;
    started = true;
    for (int i = 0; i < config.connections; ++i) {
      workers.push_back(named_thread("dlrd-status-" + std::to_string(i), [this] { worker(); }));
    }
    listener = named_thread("dlrd-status-ntf", [this] {
      run_notifier(url, notifier_hooks{[this](milliseconds d) { return sleep_unless_stopping(d); },
                                       [this](store::connection& db, std::vector<std::string> ids) {
                                         notifications += ids.size();
                                         refresh(db, std::move(ids));
                                       },
                                       [this](store::connection& db) { refresh(db, all_waited_ids()); }});
    });
    timer = named_thread("dlrd-status-tmr", [this] { run_timer(); });
  }

  void stop() {
    std::vector<waiter_ptr> left;
    std::deque<job> queued;
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      stopping = true;
      queued.swap(jobs);
      left = waiters.all();
    }
    jobs_cv.notify_all();
    timer_cv.notify_all();
    for (auto& j : queued) {
      if (j.registration) {
        std::lock_guard lock(mutex);
        --waiting;
      }
      j.done(unavailable("shutting down, retry later"));
    }
    expire(left, {});
    for (auto& t : workers) t.join();
    workers.clear();
    if (listener.joinable()) listener.join();
    if (timer.joinable()) timer.join();
  }
};

service::service(status_api_config config, std::string url)
    : impl_(std::make_shared<impl>(std::move(config), std::move(url))) {}

service::~service() { stop(); }

void service::start() { impl_->start(); }

void service::stop() { impl_->stop(); }

void service::handle(const api_request& req, completion done) { impl_->handle(req, once(std::move(done))); }

service_counters service::counters() const {
  service_counters c;
  {
    std::lock_guard lock(impl_->mutex);
    c.waiting = impl_->waiting;
    c.index_steps = impl_->waiters.steps();
  }
  c.woken = impl_->woken;
  c.timed_out = impl_->timed_out;
  c.notifications = impl_->notifications;
  c.refused = impl_->refused;
  c.renders = impl_->renders;
  return c;
}

}  // namespace dlrd::status
