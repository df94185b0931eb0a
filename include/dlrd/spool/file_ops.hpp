// The file-system calls the durable spool makes, behind an interface so that tests can
// inject failures and model power loss; the real implementation is plain POSIX.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace dlrd::spool {

/// How `file_ops::open` opens a file for writing.
enum class open_mode : std::uint8_t {
  create_new,          ///< O_CREAT|O_EXCL|O_WRONLY: fails if the file exists
  create_or_truncate,  ///< O_CREAT|O_TRUNC|O_WRONLY
};

/// Every call reports failure as an error code, never by throwing, so the journal can
/// turn an I/O error into `append_result::io_error`. Paths are absolute or relative to
/// the working directory; `dir` arguments name a directory.
///
/// Thread-safety: implementations must allow concurrent calls from several threads
/// (the appender writes while writers read segments back).
class file_ops {
 public:
  virtual ~file_ops() = default;

  /// Opens `path` for writing; on success `fd` is a handle for write/sync/close.
  virtual std::error_code open(const std::string& path, open_mode mode, int& fd) = 0;
  /// Writes all `n` bytes at the file's position (its end, for a file only `write` wrote),
  /// or fails (possibly after writing part).
  virtual std::error_code write(int fd, const void* data, std::size_t n) = 0;
  /// pwrite(2): writes all `n` bytes at `offset`, over what is there or past the end, or
  /// fails (possibly after writing part).
  virtual std::error_code write_at(int fd, std::uint64_t offset, const void* data, std::size_t n) = 0;
  /// fdatasync(2): the data written so far (and the size) is durable.
  virtual std::error_code sync_data(int fd) = 0;
  /// fsync(2): data and metadata are durable; used for newly created files.
  virtual std::error_code sync_file(int fd) = 0;
  virtual std::error_code close(int fd) = 0;
  /// fsync(2) on the directory: creations, renames and deletions in it are durable.
  virtual std::error_code sync_dir(const std::string& dir) = 0;
  virtual std::error_code rename(const std::string& from, const std::string& to) = 0;
  virtual std::error_code unlink(const std::string& path) = 0;
  /// ftruncate(2) to `size`, then fsync(2) of the file.
  virtual std::error_code truncate(const std::string& path, std::uint64_t size) = 0;
  /// Reads at most `max` bytes from `offset` into `out` (shorter at end of file).
  virtual std::error_code read(const std::string& path, std::uint64_t offset, std::size_t max,
                               std::string& out) = 0;
  virtual std::error_code file_size(const std::string& path, std::uint64_t& size) = 0;
  /// Names (not paths) of the regular files in `dir`, unsorted.
  virtual std::error_code list_dir(const std::string& dir, std::vector<std::string>& names) = 0;
  /// Creates `dir` and its parents when missing.
  virtual std::error_code make_dirs(const std::string& dir) = 0;
};

/// The POSIX implementation. Thread-safe; shared by every journal.
std::shared_ptr<file_ops> posix_file_ops();

}  // namespace dlrd::spool
