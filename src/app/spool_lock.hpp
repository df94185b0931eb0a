// One daemon per spool directory.
#pragma once

#include <string>

namespace dlrd::app {

/// Holds an exclusive lock on `<dir>/lock` for the daemon's lifetime. Two processes on one
/// spool would each recover, append to and trim the same segment files: the second's recovery
/// truncates what the first is writing, and records both acked are lost. A second `dlrd serve`
/// on the directory (a manual run beside the systemd unit, two units sharing a volume) is
/// refused before it touches anything. The lock is flock(2): the kernel drops it when the holder
/// exits, however it exits, so a kill -9 leaves nothing to clean up.
/// Thread-safety: construct and destroy on one thread.
class spool_lock {
 public:
  /// Creates the directory if needed and takes the lock; throws std::runtime_error naming the
  /// directory and the holder's pid when another process holds it.
  explicit spool_lock(const std::string& dir);
  ~spool_lock();
  spool_lock(const spool_lock&) = delete;
  spool_lock& operator=(const spool_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace dlrd::app
