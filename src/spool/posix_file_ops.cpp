// The POSIX implementation of file_ops: thin wrappers that retry EINTR and short writes.
#include <dlrd/spool/file_ops.hpp>

#include <cerrno>
#include <filesystem>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dlrd::spool {

namespace {

std::error_code last_error() { return {errno, std::generic_category()}; }

class posix_ops final : public file_ops {
 public:
  std::error_code open(const std::string& path, open_mode mode, int& fd) override {
    int flags = O_WRONLY | O_CLOEXEC | O_CREAT;
    flags |= mode == open_mode::create_new ? O_EXCL : O_TRUNC;
    do {
      fd = ::open(path.c_str(), flags, 0640);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? last_error() : std::error_code{};
  }

  std::error_code write(int fd, const void* data, std::size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return {};
  }

  std::error_code write_at(int fd, std::uint64_t offset, const void* data, std::size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
      if (w < 0) {
        if (errno == EINTR) continue;
        return last_error();
      }
      p += w;
      offset += static_cast<std::uint64_t>(w);
      n -= static_cast<std::size_t>(w);
    }
    return {};
  }

  std::error_code sync_data(int fd) override { return ::fdatasync(fd) == 0 ? std::error_code{} : last_error(); }
  std::error_code sync_file(int fd) override { return ::fsync(fd) == 0 ? std::error_code{} : last_error(); }
  // EINTR from close still closes the descriptor on Linux: never retry it.
  std::error_code close(int fd) override { return ::close(fd) == 0 ? std::error_code{} : last_error(); }

  std::error_code sync_dir(const std::string& dir) override {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::error_code ec = ::fsync(fd) == 0 ? std::error_code{} : last_error();
    ::close(fd);
    return ec;
  }

  std::error_code rename(const std::string& from, const std::string& to) override {
    return ::rename(from.c_str(), to.c_str()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code unlink(const std::string& path) override {
    return ::unlink(path.c_str()) == 0 ? std::error_code{} : last_error();
  }

  std::error_code truncate(const std::string& path, std::uint64_t size) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::error_code ec;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0 || ::fsync(fd) != 0) ec = last_error();
    ::close(fd);
    return ec;
  }

  std::error_code read(const std::string& path, std::uint64_t offset, std::size_t max, std::string& out) override {
    out.clear();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return last_error();
    std::error_code ec;
    out.resize(max);
    std::size_t got = 0;
    while (got < max) {
      ssize_t r = ::pread(fd, out.data() + got, max - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        ec = last_error();
        break;
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    ::close(fd);
    return ec;
  }

  std::error_code file_size(const std::string& path, std::uint64_t& size) override {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return last_error();
    size = static_cast<std::uint64_t>(st.st_size);
    return {};
  }

  std::error_code list_dir(const std::string& dir, std::vector<std::string>& names) override {
    names.clear();
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (it->is_regular_file(type_ec)) names.push_back(it->path().filename().string());
    }
    return ec;
  }

  std::error_code make_dirs(const std::string& dir) override {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return ec;
  }
};

}  // namespace

std::shared_ptr<file_ops> posix_file_ops() {
  static const auto ops = std::make_shared<posix_ops>();
  return ops;
}

}  // namespace dlrd::spool
