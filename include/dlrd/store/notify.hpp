// A LISTEN session: the cross-instance wake-ups of long-polls (NOTIFY dlrd_status, sent by
// the writer's transaction when a waited-for message becomes final).
#pragma once

#include <dlrd/store/connection.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::store {

/// The channel the writer notifies when a message someone waits for becomes final; the
/// payload is its message_id.
inline constexpr const char* status_channel = "dlrd_status";

/// One connection that LISTENs on `channel` from every connect on: when store reconnects it
/// (after a broken connection, in wait() or in a typed read on db()), it listens again and
/// db().connects() changes, so the owner knows that NOTIFYs may have been missed between the
/// two sessions. Not thread-safe: one owner thread.
class listener {
 public:
  listener(std::string url, std::string channel);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// Connects and LISTENs now if not connected. Throws database_error when it cannot.
  void open();
  /// Waits up to `timeout` for notifications (connecting first if needed) and returns their
  /// payloads in arrival order; empty when none came. Throws database_error when the
  /// connection breaks (it is closed; the next call reconnects).
  std::vector<std::string> wait(std::chrono::milliseconds timeout);
  /// The listening session, for typed reads between waits.
  connection& db() { return db_; }

 private:
  struct receiver;
  connection db_;
  std::string channel_;
  std::vector<std::string> payloads_;
  std::unique_ptr<receiver> receiver_;
};

}  // namespace dlrd::store
