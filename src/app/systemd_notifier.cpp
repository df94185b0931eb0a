// systemd STATUS and WATCHDOG from the main loop.
#include "systemd_notifier.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cstdio>

namespace dlrd::app {

using std::chrono::milliseconds;

systemd_notifier::systemd_notifier(const http::server& listener, spool::journal& journal, const writer_pool& writers)
    : listener_(listener), journal_(journal), writers_(writers) {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(usec));
    // A stage counts as stuck once its heartbeat is older than half the watchdog
    // interval (stages beat every 250 ms or faster), but never sooner than 2 s.
    stall_limit_ = std::max(watchdog_ / 2, milliseconds(2000));
    spdlog::info("systemd watchdog every {} ms; a stage silent for {} ms stops the pings", watchdog_.count(),
                 stall_limit_.count());
  }
  auto s = journal_.snapshot();
  last_status_at_ = clock::now();
  last_appended_ = s.records_appended;
  last_committed_ = s.records_committed;
}

milliseconds systemd_notifier::period() const {
  return watchdog_.count() > 0 ? std::clamp(watchdog_ / 4, milliseconds(100), milliseconds(1000))
                               : milliseconds(1000);
}

void systemd_notifier::tick() {
  auto now = clock::now();
  if (watchdog_.count() > 0 && now >= next_ping_) {
    auto stuck = stuck_stage(now);
    if (stuck.empty()) {
      sd_notify(0, "WATCHDOG=1");
      next_ping_ = now + watchdog_ / 2;
      if (!reported_stuck_.empty()) spdlog::info("watchdog: every stage makes progress again");
      reported_stuck_.clear();
    } else if (stuck != reported_stuck_) {
      spdlog::error("watchdog: {} made no progress for over {} ms; not pinging systemd", stuck,
                    stall_limit_.count());
      reported_stuck_ = stuck;
    }
  }
  if (now - last_status_at_ >= std::chrono::seconds(5)) status(now);
}

std::string systemd_notifier::stuck_stage(clock::time_point now) const {
  auto too_old = [&](clock::time_point t) { return now - t > stall_limit_; };
  if (too_old(listener_.oldest_io_heartbeat())) return "an HTTP I/O thread";
  if (too_old(journal_.snapshot().appender_heartbeat)) return "the spool appender";
  if (too_old(writers_.oldest_heartbeat())) return "a PostgreSQL writer";
  return {};
}

void systemd_notifier::status(clock::time_point now) {
  auto s = journal_.snapshot();
  double seconds = std::chrono::duration<double>(now - last_status_at_).count();
  double acked = static_cast<double>(s.records_appended - last_appended_) / seconds;
  double committed = static_cast<double>(s.records_committed - last_committed_) / seconds;
  char line[200];
  std::snprintf(line, sizeof line, "STATUS=backlog %llu records (%llu bytes), acked %.1f/s, committed %.1f/s",
                static_cast<unsigned long long>(s.backlog_records),
                static_cast<unsigned long long>(s.backlog_bytes), acked, committed);
  sd_notify(0, line);
  last_status_at_ = now;
  last_appended_ = s.records_appended;
  last_committed_ = s.records_committed;
}

}  // namespace dlrd::app
