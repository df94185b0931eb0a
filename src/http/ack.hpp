// From a handler's outcome to the answer to send: the spool ack (append, then the durable answer
// or a 503, never an ack of what was not stored) and work done off the I/O threads.
#pragma once

#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include "listener_metrics.hpp"

#include <dlrd/http/handler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>

namespace dlrd::spool { class journal; }

namespace dlrd::http {

/// Thread-safety: answer() from every I/O thread at once; stop() once, from the controlling
/// thread, when no session is left.
class answerer {
 public:
  answerer(spool::journal& journal, listener_metrics& metrics, int retry_after_seconds);

  /// The answer for `out`, resumed on the caller's executor. `read_done` is when the request
  /// was fully read (the ack latency starts there).
  boost::asio::awaitable<response> answer(outcome out, unsigned version,
                                          std::chrono::steady_clock::time_point read_done);

  /// Waits for the blocking work in progress.
  void stop();

 private:
  boost::asio::awaitable<response> ack(spool_action action, unsigned version,
                                       std::chrono::steady_clock::time_point read_done);

  spool::journal& journal_;
  listener_metrics& metrics_;
  int retry_after_seconds_;
  boost::asio::thread_pool blocking_pool_{4};  // API routes that query PostgreSQL
};

}  // namespace dlrd::http
