// A thread that runs rounds until stopped, sleeping between them and woken early by a change.
#pragma once

#include <dlrd/common/thread_name.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace dlrd {

/// Owns one thread that calls `round` until stop(). Between rounds it sleeps until the time
/// the round returned, or until change() or stop(). State the owner shares with its rounds
/// is read and written through with_lock() and change(); a round runs without the lock.
/// Thread-safety: every member may be called from any thread; stop() is idempotent, waits
/// for the round in progress, and is called by the destructor.
class background_loop {
 public:
  using clock = std::chrono::steady_clock;

  background_loop() = default;
  ~background_loop() { stop(); }
  background_loop(const background_loop&) = delete;
  background_loop& operator=(const background_loop&) = delete;

  /// Starts the thread, named `name` (see named_thread); a second start() while it
  /// runs does nothing.
  void start(std::string name, std::function<clock::time_point()> round) {
    std::lock_guard lk(mutex_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = named_thread(std::move(name), [this, round = std::move(round)] { run(round); });
  }

  void stop() {
    std::thread t;
    {
      std::lock_guard lk(mutex_);
      stopping_ = true;
      t = std::move(thread_);
    }
    wake_.notify_all();
    if (t.joinable()) t.join();
  }

  /// Runs `f` under the lock and returns what it returns.
  template <class F>
  auto with_lock(F&& f) const {
    std::lock_guard lk(mutex_);
    return std::forward<F>(f)();
  }

  /// Runs `f` under the lock, then wakes the thread for a round now (after the one in progress).
  template <class F>
  void change(F&& f) {
    {
      std::lock_guard lk(mutex_);
      std::forward<F>(f)();
      woken_ = true;
    }
    wake_.notify_all();
  }

 private:
  void run(const std::function<clock::time_point()>& round) {
    std::unique_lock lk(mutex_);
    while (!stopping_) {
      woken_ = false;
      lk.unlock();
      auto next = round();
      lk.lock();
      wake_.wait_until(lk, next, [this] { return stopping_ || woken_; });
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace dlrd
