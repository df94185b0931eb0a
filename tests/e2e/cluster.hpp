// For tests that crash PostgreSQL on purpose: a cluster of the test's own (scripts/pg.sh),
// a streaming standby of it, a load of unique SMSPM reports, and the acked-but-missing check.
#pragma once

#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::e2e {

/// A PostgreSQL cluster in `data_dir`, run as the postgres user when the test runs as root.
class private_cluster {
 public:
  /// Creates (initdb) and starts a new cluster on a free port.
  explicit private_cluster(std::string data_dir);
  ~private_cluster();
  private_cluster(const private_cluster&) = delete;
  private_cluster& operator=(const private_cluster&) = delete;

  /// A streaming standby of `primary` (pg_basebackup -R), started.
  static std::unique_ptr<private_cluster> standby_of(const private_cluster& primary, std::string data_dir);

  void start();
  /// A crash as far as the server's memory goes: WAL still in its buffers is lost.
  void crash();
  /// Ends recovery: a standby becomes a primary on a new timeline. Waits first until the
  /// server accepts connections (after a crash restart, a promote signal sent while no
  /// startup process runs would be lost).
  void promote();
  /// The standby's WAL receiver process, 0 when none runs.
  int wal_receiver_pid() const;

  int port() const { return port_; }
  const std::string& url() const { return url_; }

 private:
  struct existing {};
  private_cluster(std::string data_dir, existing);
  void pg_ctl(const std::string& args);

  std::string dir_;
  int port_;
  std::string url_;
};

/// Client threads posting SMSPM reports with unique ids as fast as answers come. Every
/// `failed_every`-th report (0: none) is `undelivered`, the rest `delivered`.
class load_generator {
 public:
  load_generator(int port, std::string prefix, int threads, int failed_every = 0);
  ~load_generator();
  load_generator(const load_generator&) = delete;
  load_generator& operator=(const load_generator&) = delete;

  /// Stops the threads; returns the ids answered 200.
  std::vector<std::string> stop();
  std::uint64_t acked() const { return acked_count_; }
  /// Answers other than 200 (e.g. 503 while the spool refuses), and exchanges that failed.
  std::uint64_t refused() const { return refused_; }
  std::uint64_t failed_exchanges() const { return failed_exchanges_; }
  /// Whether the report with this id was sent as undelivered.
  static bool is_failure(const std::string& id, int failed_every);

 private:
  void run(int port, int t);

  std::string prefix_;
  int failed_every_;
  std::vector<std::vector<std::string>> acked_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> acked_count_{0}, refused_{0}, failed_exchanges_{0};
};

/// The acked ids not (yet) in `url`'s sms_logs, polled until none is missing or `timeout`.
std::vector<std::string> missing_after(const std::string& url, const std::vector<std::string>& acked,
                                       std::chrono::seconds timeout);

}  // namespace dlrd::e2e
