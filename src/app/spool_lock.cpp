// The spool directory's lock file: flock(2) held for the daemon's lifetime, the holder's pid
// written in it for the message a second process prints.
#include "spool_lock.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace dlrd::app {

namespace {

std::string os_error(const std::string& what, int err) { return what + ": " + std::strerror(err); }

/// The pid the holder wrote, or "unknown" (it may be between open and write).
std::string holder_of(int fd) {
  char buf[32] = {};
  auto n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

spool_lock::spool_lock(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create spool directory " + dir + ": " + ec.message());
  const auto path = (std::filesystem::path(dir) / "lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw std::runtime_error(os_error("cannot open " + path, errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const auto holder = err == EWOULDBLOCK ? holder_of(fd_) : std::string();
    ::close(fd_);
    if (err != EWOULDBLOCK) throw std::runtime_error(os_error("cannot lock " + path, err));
    throw std::runtime_error("spool directory " + dir + " is in use by another dlrd (pid " + holder +
                             "); each instance needs a spool.dir of its own");
  }
  const auto pid = std::to_string(::getpid()) + "\n";
  // The pid is for the message above only: the lock is held either way.
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    spdlog::warn("cannot write the pid into {}: {}", path, std::strerror(errno));
  }
}

spool_lock::~spool_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace dlrd::app
