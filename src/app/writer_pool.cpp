// Writer threads: the loop from spooled to committed.
#include "writer_pool.hpp"

#include <dlrd/report/codec.hpp>

#include <spdlog/spdlog.h>

namespace dlrd::app {

namespace {

std::int64_t ticks_now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

}  // namespace

report::quarantined_payload undecodable_spool_record(const spool::record& r) {
  report::quarantined_payload q;
  q.provider = "dlrd.spool";
  q.reason = "spool: record passed its checksum but does not decode (written by another dlrd version?)";
  q.content_type = "application/octet-stream";
  q.body = r.payload;
  return q;
}

writer_pool::writer_pool(spool::journal& journal, store::database_config db, store::store_config config,
                         metrics::registry* metrics)
    : journal_(journal), db_(std::move(db)), config_(config) {
  if (!metrics) return;
  batch_size_ = &metrics->get_histogram("dlrd_writer_batch_size", "Spooled records per batch written to PostgreSQL.",
                                        metrics::size_buckets());
  batch_seconds_ = &metrics->get_histogram(
      "dlrd_writer_batch_seconds", "Time to write one batch to PostgreSQL, retries included.",
      metrics::latency_buckets());
  metrics->add_callback("dlrd_writer_reports_committed_total", "Spooled records committed in PostgreSQL by the writers.",
                        metrics::kind::counter, [this] { return static_cast<double>(rows_committed()); });
  metrics->add_callback("dlrd_spool_records_undecodable_total",
                        "Spooled records that passed their checksum but did not decode; kept raw in dlr_quarantine.",
                        metrics::kind::counter, [this] { return static_cast<double>(undecodable_.load()); });
  metrics->add_callback("dlrd_db_errors_total", "Failed PostgreSQL write attempts (each is retried).",
                        metrics::kind::counter, [this] { return static_cast<double>(counters().errors); });
  metrics->add_callback("dlrd_db_reconnects_total", "PostgreSQL connections reopened after a writer's first.",
                        metrics::kind::counter, [this] { return static_cast<double>(counters().reconnects); });
}

writer_pool::~writer_pool() { stop(); }

void writer_pool::start() {
  for (int i = 0; i < config_.workers; ++i) writers_.push_back(std::make_unique<store::writer>(db_, config_));
  loop_beats_ = std::make_unique<std::atomic<std::int64_t>[]>(writers_.size());
  for (std::size_t i = 0; i < writers_.size(); ++i) loop_beats_[i] = ticks_now();
  for (std::size_t i = 0; i < writers_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void writer_pool::stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

store::writer_counters writer_pool::counters() const {
  store::writer_counters total;
  for (const auto& w : writers_) {
    auto c = w->counters();
    total.attempts += c.attempts;
    total.errors += c.errors;
    total.reconnects += c.reconnects;
  }
  return total;
}

std::chrono::steady_clock::time_point writer_pool::oldest_heartbeat() const {
  auto oldest = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < writers_.size(); ++i) {
    auto loop = std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(loop_beats_[i].load()));
    oldest = std::min(oldest, std::max(loop, writers_[i]->alive_at()));
  }
  return oldest;
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
    loop_beats_[index] = ticks_now();
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
        // The spool's checksum passed: these are acked bytes, from an incompatible build.
        // Committing the seq without them would destroy them; they are kept raw instead.
        ++undecodable_;
        spdlog::error("spool record {} ({} bytes) passed its checksum but does not decode; kept raw in dlr_quarantine",
                      r.seq, r.payload.size());
        batch.push_back(undecodable_spool_record(r));
      }
    }
    // The batch is retried until it commits: records taken from the spool are never
    // given back, so giving up here would strand them until the next start.
    bool written = false;
    const auto started = std::chrono::steady_clock::now();
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
    if (batch_size_) {
      batch_size_->observe(static_cast<double>(seqs.size()));
      batch_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    journal_.commit(seqs);
    reports_committed_ += seqs.size();
  }
}

}  // namespace dlrd::app
