// The LISTEN side of long-polls: NOTIFYs from any instance's writers wake this instance's
// waiters. The loop owns its session; what it wakes is the owner's (through the hooks).
#pragma once

#include <dlrd/store/connection.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace dlrd::status {

struct notifier_hooks {
  /// Waits up to the given time; false when the service stops (the loop returns).
  std::function<bool(std::chrono::milliseconds)> sleep_unless_stopping;
  /// Called with the ids that NOTIFYs named (possibly repeated), to read and wake on `db`.
  std::function<void(store::connection& db, std::vector<std::string> ids)> notified;
  /// Called after every new session: NOTIFYs sent while none listened were lost, so every
  /// waited id is read again on `db`.
  std::function<void(store::connection& db)> resync;
};

/// Runs until sleep_unless_stopping() says stop: LISTENs on store::status_channel, hands
/// what arrives to the hooks, purges expired registrations once a minute, and after a
/// failure logs once, waits a second and reconnects.
void run_notifier(const std::string& url, const notifier_hooks& hooks);

}  // namespace dlrd::status
