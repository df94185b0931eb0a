// Writer threads: the loop from spooled to committed.
#include "writer_pool.hpp"

#include <dlrd/report/codec.hpp>

#include <spdlog/spdlog.h>

namespace dlrd::app {

writer_pool::writer_pool(spool::journal& journal, store::database_config db, store::store_config config)
    : journal_(journal), db_(std::move(db)), config_(config) {}

writer_pool::~writer_pool() { stop(); }

void writer_pool::start() {
  for (int i = 0; i < config_.workers; ++i) writers_.push_back(std::make_unique<store::writer>(db_, config_));
  for (std::size_t i = 0; i < writers_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void writer_pool::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::string writer_pool::database_problem() const {
  // A writer connects with its first batch; until an attempt fails, an idle writer is healthy.
  for (const auto& w : writers_) {
    if (!w->connected()) {
      auto e = w->last_error();
      if (!e.empty()) return e;
    }
  }
  return {};
}

void writer_pool::run(std::size_t index) {
  auto& w = *writers_[index];
  std::vector<report::ingest_record> batch;
  std::vector<std::uint64_t> seqs;
  while (!stop_) {
    auto records = journal_.take(config_.batch_max, config_.batch_linger,
                                 std::chrono::steady_clock::now() + std::chrono::milliseconds(200));
    if (records.empty()) continue;
    batch.clear();
    seqs.clear();
    for (auto& r : records) {
      seqs.push_back(r.seq);
      if (auto rec = report::decode(r.payload)) {
        batch.push_back(std::move(*rec));
      } else {
        // The spool's checksum passed, so this is a record from an incompatible build.
        spdlog::error("spool record {} does not decode; skipped", r.seq);
      }
    }
    // The batch is retried until it commits: records taken from the spool are never
    // given back, so giving up here would strand them until the next start.
    bool written = false;
    while (!written && !stop_) {
      try {
        w.write(batch, stop_);
        written = true;
      } catch (const std::exception& e) {
        if (stop_) break;
        spdlog::error("writer {}: {}; retrying the batch", index, e.what());
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
    if (!written) break;  // abandoned at shutdown: the records stay in the spool
    journal_.commit(seqs);
    reports_committed_ += seqs.size();
  }
}

}  // namespace dlrd::app
