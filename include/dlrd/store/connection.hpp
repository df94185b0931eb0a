// The handle every other module holds to reach PostgreSQL: one session, opaque outside store,
// passed to store's typed functions (status_db.hpp, stats_db.hpp, jobs_db.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::store {

/// One PostgreSQL session, opened on first use and again after store dropped it (a broken
/// connection; see retry.hpp). Holds no libpqxx type in its interface, so the modules that
/// use it neither include nor link libpqxx. Not thread-safe: one owner thread at a time.
class connection {
 public:
  /// `url` is a libpq connection string. `setup` statements run after every connect (e.g. a
  /// session statement_timeout).
  explicit connection(std::string url, std::vector<std::string> setup = {});
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// True while a session is open (it may still turn out broken on its next use).
  bool is_open() const;
  /// Closes the session (with it go its advisory locks and LISTENs); the next use reconnects.
  void close();
  /// Sessions opened so far: a change means a new session (a lost lock, missed NOTIFYs).
  std::uint64_t connects() const;

  /// Store-internal state (src/store/pg.hpp); opaque elsewhere.
  struct impl;
  impl& state() { return *impl_; }

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace dlrd::store
