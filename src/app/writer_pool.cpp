// Writer threads: the loop from spooled to committed.
#include "writer_pool.hpp"

#include <dlrd/common/thread_name.hpp>
#include <dlrd/report/codec.hpp>

#include <spdlog/spdlog.h>

#include <utility>

namespace dlrd::app {

namespace {

std::int64_t ticks_now() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// How often a writer whose batches wait for the WAL flush asks, when no new commit brings
// the answer; the walwriter flushes async commits within 3 x wal_writer_delay (200 ms).
constexpr auto flush_poll = std::chrono::milliseconds(20);
// A batch still unflushed after this met WAL the walwriter leaves for later (another
// session's records past its commit, on a partly filled page): a tiny synchronous commit
// flushes it, so the spool's checkpoint never stalls behind it.
constexpr auto flush_force_after = std::chrono::seconds(1);

}  // namespace

std::vector<std::uint64_t> flush_gate::release(store::wal_position flushed) {
  std::vector<std::uint64_t> seqs;
  if (flushed.connection == 0) return seqs;
  std::erase_if(waiting_, [&](const batch& b) {
    if (b.committed_at.connection != flushed.connection || b.committed_at.lsn > flushed.lsn) return false;
    seqs.insert(seqs.end(), b.seqs.begin(), b.seqs.end());
    return true;
  });
  return seqs;
}

std::vector<flush_gate::batch> flush_gate::take_stale(std::uint64_t current) {
  std::vector<batch> stale;
  if (current == 0) return stale;
  std::erase_if(waiting_, [&](batch& b) {
    if (b.committed_at.connection == current) return false;
    stale.push_back(std::move(b));
    return true;
  });
  return stale;
}

std::chrono::steady_clock::time_point flush_gate::oldest() const {
  auto oldest = std::chrono::steady_clock::now();
  for (const auto& b : waiting_) oldest = std::min(oldest, b.since);
  return oldest;
}

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
  metrics->add_callback("dlrd_writer_batches_awaiting_flush",
                        "Batches committed asynchronously whose WAL PostgreSQL has not yet confirmed flushed; their "
                        "records stay in the spool.",
                        metrics::kind::gauge, [this] {
                          std::int64_t n = 0;
                          for (std::size_t i = 0; awaiting_ && i < writers_.size(); ++i) n += awaiting_[i];
                          return static_cast<double>(n);
                        });
  metrics->add_callback("dlrd_spool_replays_total",
                        "Times the writers found a new PostgreSQL primary and wrote again every record the spool "
                        "still held (spool.retain_committed).",
                        metrics::kind::counter, [this] { return static_cast<double>(replays_.load()); });
  metrics->add_callback("dlrd_spool_replayed_records_total", "Records written again by those replays.",
                        metrics::kind::counter, [this] { return static_cast<double>(replayed_records_.load()); });
  metrics->add_callback("dlrd_db_errors_total", "Failed PostgreSQL write attempts (each is retried).",
                        metrics::kind::counter, [this] { return static_cast<double>(counters().errors); });
  metrics->add_callback("dlrd_db_reconnects_total", "PostgreSQL connections reopened after a writer's first.",
                        metrics::kind::counter, [this] { return static_cast<double>(counters().reconnects); });
}

writer_pool::~writer_pool() { stop(); }

void writer_pool::start() {
  for (int i = 0; i < config_.workers; ++i) writers_.push_back(std::make_unique<store::writer>(db_, config_));
  owed_replays_.assign(writers_.size(), {});
  primary_ = journal_.database_identity();
  loop_beats_ = std::make_unique<std::atomic<std::int64_t>[]>(writers_.size());
  awaiting_ = std::make_unique<std::atomic<std::int64_t>[]>(writers_.size());
  for (std::size_t i = 0; i < writers_.size(); ++i) loop_beats_[i] = ticks_now();
  for (std::size_t i = 0; i < writers_.size(); ++i) {
    threads_.push_back(named_thread("dlrd-writer-" + std::to_string(i), [this, i] { run(i); }));
  }
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
  flush_gate gate;
  while (!stop_) {
    loop_beats_[index] = ticks_now();
    const auto wait = gate.empty() ? std::chrono::milliseconds(200) : flush_poll;
    auto records = journal_.take(config_.batch_max, config_.batch_linger, std::chrono::steady_clock::now() + wait);
    if (!records.empty()) {
      flush_gate::batch b;
      for (const auto& r : records) b.seqs.push_back(r.seq);
      b.records = decode(records);
      store::write_outcome out;
      const auto started = std::chrono::steady_clock::now();
      if (!write_until_committed(index, b.records, out)) break;  // stopping: the records stay in the spool
      if (batch_size_) {
        batch_size_->observe(static_cast<double>(b.seqs.size()));
        batch_seconds_->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
      reports_committed_ += b.seqs.size();
      committed(index, gate, std::move(b), out);
    }
    while (!stop_ && !owed_replays_[index].empty()) {
      auto from = std::exchange(owed_replays_[index], {});
      replay(index, from);
    }
    if (!gate.empty() && (records.empty() || std::chrono::steady_clock::now() - gate.oldest() > flush_force_after)) {
      poll_flushed(index, gate, std::chrono::steady_clock::now() - gate.oldest() > flush_force_after);
    }
  }
  // Stopping: what the server confirms flushed leaves the spool; the rest is replayed at the next start.
  if (!gate.empty()) release(index, gate, w.flushed(true));
}

bool writer_pool::write_until_committed(std::size_t index, const std::vector<report::ingest_record>& batch,
                                        store::write_outcome& out) {
  // The batch is retried until it commits: records taken from the spool are never
  // given back, so giving up here would strand them until the next start.
  while (!stop_) {
    try {
      out = writers_[index]->write(batch, stop_);
      if (check_primary(index) != primary_check::stale) return true;
      writers_[index]->disconnect();
      continue;
    } catch (const std::exception& e) {
      if (stop_) break;
      spdlog::error("writer {}: {}; retrying the batch", index, e.what());
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  return false;
}

std::vector<report::ingest_record> writer_pool::decode(const std::vector<spool::record>& records) {
  std::vector<report::ingest_record> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    if (auto rec = report::decode(r.payload)) {
      out.push_back(std::move(*rec));
      continue;
    }
    // The spool's checksum passed: these are acked bytes, from an incompatible build.
    // Committing the seq without them would destroy them; they are kept raw instead.
    ++undecodable_;
    spdlog::error("spool record {} ({} bytes) passed its checksum but does not decode; kept raw in dlr_quarantine",
                  r.seq, r.payload.size());
    out.push_back(undecodable_spool_record(r));
  }
  return out;
}

writer_pool::primary_check writer_pool::check_primary(std::size_t index) {
  const auto& server = writers_[index]->server();
  std::lock_guard lock(primary_mutex_);
  if (server.identity == primary_) return primary_check::same;
  if (primary_.empty()) {
    primary_ = server.identity;
    primary_since_ = server.opened_at;
    journal_.set_database_identity(primary_);
    return primary_check::same;
  }
  if (server.opened_at <= primary_since_) {
    spdlog::warn("writer {}: committed on {}, which is no longer the primary ({} is); writing the batch again", index,
                 server.identity, primary_);
    return primary_check::stale;
  }
  owed_replays_[index] = std::exchange(primary_, server.identity);
  primary_since_ = server.opened_at;
  return primary_check::changed;
}

void writer_pool::replay(std::size_t index, const std::string& from) {
  const auto to = writers_[index]->server().identity;
  auto reader = journal_.replay();
  if (!reader) {
    spdlog::error("database primary changed from {} to {}; spool.retain_committed is 0, so commits the old primary "
                  "had not passed on are lost",
                  from, to);
    journal_.set_database_identity(to);
    return;
  }
  spdlog::warn("database primary changed from {} to {}: writing again every record the spool still holds", from, to);
  const auto started = std::chrono::steady_clock::now();
  std::uint64_t records = 0;
  for (auto batch = reader->next(config_.batch_max); !batch.empty(); batch = reader->next(config_.batch_max)) {
    store::write_outcome out;
    if (!write_until_committed(index, decode(batch), out)) return;  // stopping: the next start replays again
    records += batch.size();
  }
  // Replayed async commits are kept only once flushed; this flushes them all.
  if (!config_.synchronous_commit) writers_[index]->flushed(true);
  journal_.set_database_identity(to);
  ++replays_;
  replayed_records_ += records;
  spdlog::warn("replay to {} done: {} record(s) written again in {} ms", to, records,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count());
}

void writer_pool::committed(std::size_t index, flush_gate& gate, flush_gate::batch b, const store::write_outcome& out) {
  if (config_.synchronous_commit) {
    journal_.commit(b.seqs);
    return;
  }
  b.committed_at = out.committed_at;
  b.since = std::chrono::steady_clock::now();
  gate.add(std::move(b));
  release(index, gate, store::wal_position{out.committed_at.connection, out.flushed_lsn});
  rewrite_stale(index, gate, out.committed_at.connection);
}

void writer_pool::poll_flushed(std::size_t index, flush_gate& gate, bool force) {
  auto at = writers_[index]->flushed(force);
  release(index, gate, at);
  rewrite_stale(index, gate, at.connection);
}

void writer_pool::release(std::size_t index, flush_gate& gate, store::wal_position flushed) {
  auto seqs = gate.release(flushed);
  if (!seqs.empty()) journal_.commit(seqs);
  awaiting_[index] = static_cast<std::int64_t>(gate.size());
}

void writer_pool::rewrite_stale(std::size_t index, flush_gate& gate, std::uint64_t connection) {
  while (connection != 0) {
    auto stale = gate.take_stale(connection);
    awaiting_[index] = static_cast<std::int64_t>(gate.size());
    if (stale.empty()) return;
    spdlog::warn("writer {}: reconnected with {} batch(es) not yet confirmed flushed; writing them again", index,
                 stale.size());
    for (auto& b : stale) {
      store::write_outcome out;
      if (!write_until_committed(index, b.records, out)) return;  // stopping: they stay in the spool
      connection = out.committed_at.connection;
      b.committed_at = out.committed_at;
      b.since = std::chrono::steady_clock::now();
      gate.add(std::move(b));
      release(index, gate, store::wal_position{connection, out.flushed_lsn});
    }
  }
}

}  // namespace dlrd::app
