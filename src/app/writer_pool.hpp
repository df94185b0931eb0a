// Writer threads: take durable records from the spool, write them to PostgreSQL, commit.
#pragma once

#include <dlrd/spool/spool.hpp>
#include <dlrd/store/writer.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::app {

/// Thread-safety: start/stop from the controlling thread; status() from any thread.
class writer_pool {
 public:
  writer_pool(spool::journal& journal, store::database_config db, store::store_config config);
  ~writer_pool();

  void start();
  /// Asks the writers to stop after their current batch; a batch that is still being
  /// retried is abandoned and stays in the spool.
  void stop();

  /// Empty when every writer's last attempt reached PostgreSQL; else the last error.
  std::string database_problem() const;
  std::uint64_t rows_committed() const { return reports_committed_; }

 private:
  void run(std::size_t index);

  spool::journal& journal_;
  store::database_config db_;
  store::store_config config_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> reports_committed_{0};
  std::vector<std::unique_ptr<store::writer>> writers_;
  std::vector<std::thread> threads_;
};

}  // namespace dlrd::app
