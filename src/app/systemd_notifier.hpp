// systemd integration of the running daemon: STATUS lines and WATCHDOG pings.
#pragma once

#include "writer_pool.hpp"

#include <dlrd/http/server.hpp>
#include <dlrd/spool/spool.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace dlrd::app {

/// sd_notify STATUS and WATCHDOG. WATCHDOG=1 is sent only while every stage shows a
/// recent heartbeat: each I/O thread's event loop, the spool appender and each writer.
/// Thread-safety: the main loop's thread only.
class systemd_notifier {
 public:
  using clock = std::chrono::steady_clock;

  systemd_notifier(const http::server& listener, spool::journal& journal, const writer_pool& writers);

  /// How long the main loop may sleep between calls to tick().
  std::chrono::milliseconds period() const;

  void tick();

 private:
  std::string stuck_stage(clock::time_point now) const;
  void status(clock::time_point now);

  const http::server& listener_;
  spool::journal& journal_;
  const writer_pool& writers_;
  std::chrono::milliseconds watchdog_{0};
  std::chrono::milliseconds stall_limit_{0};
  clock::time_point next_ping_{};
  std::string reported_stuck_;
  clock::time_point last_status_at_;
  std::uint64_t last_appended_ = 0;
  std::uint64_t last_committed_ = 0;
};

}  // namespace dlrd::app
