// The LISTEN loop of the status API (one thread per service).
#include "notifier.hpp"

#include <dlrd/store/notify.hpp>
#include <dlrd/store/status_db.hpp>

#include <spdlog/spdlog.h>

namespace dlrd::status {

void run_notifier(const std::string& url, const notifier_hooks& hooks) {
  using clock = std::chrono::steady_clock;
  using std::chrono::milliseconds;
  store::listener wakeups(url, store::status_channel);
  bool failing = false;
  std::uint64_t session = 0;  // the connect whose missed NOTIFYs were made up for
  auto next_purge = clock::now();
  while (hooks.sleep_unless_stopping(milliseconds(0))) {
    try {
      wakeups.open();
      if (wakeups.db().connects() != session) {
        session = wakeups.db().connects();
        if (failing) spdlog::info("status: LISTEN connection restored");
        failing = false;
        hooks.resync(wakeups.db());
        continue;
      }
      auto ids = wakeups.wait(milliseconds(200));
      if (!ids.empty()) hooks.notified(wakeups.db(), std::move(ids));
      if (clock::now() >= next_purge) {
        store::purge_waiters(wakeups.db());
        next_purge = clock::now() + std::chrono::minutes(1);
      }
    } catch (const std::exception& e) {
      if (!failing) spdlog::warn("status: LISTEN connection failed: {}; reconnecting", e.what());
      failing = true;
      wakeups.db().close();
      if (!hooks.sleep_unless_stopping(milliseconds(1000))) return;
    }
  }
}

}  // namespace dlrd::status
