// A spooled record that passes its checksum but does not decode is kept raw in quarantine,
// never committed away (issue 19); asynchronous commits leave the spool only once flushed
// (issue 20): the hermetic parts, and the writers against PostgreSQL.
#include "writer_pool.hpp"

#include "spool_test_support.hpp"

#include <dlrd/report/codec.hpp>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#if DLRD_WRITER_POOL_PG
#include "support/pg_fixture.hpp"
#endif

namespace dlrd::app {
namespace {

using namespace std::chrono_literals;

report::delivery_report a_report() {
  report::delivery_report r;
  r.message_id = "spool-decode-1";
  r.canonical = report::status::delivered;
  r.raw_status = "DELIVERED";
  r.provider = "smspm";
  r.event_at = report::time_point{std::chrono::seconds{1'700'000'000}};
  r.received_at = r.event_at;
  return r;
}

/// A record as a later dlrd might write it: the same fields behind another format version.
std::string from_a_future_version() {
  auto bytes = report::encode(report::ingest_record{a_report()});
  bytes[0] = static_cast<char>(bytes[0] + 1);
  return bytes;
}

#if !DLRD_WRITER_POOL_PG

TEST(spool_undecodable_record, its_raw_bytes_become_a_quarantine_payload_with_a_stable_key) {
  spool::record r{42, from_a_future_version(), std::chrono::steady_clock::now()};
  ASSERT_FALSE(report::decode(r.payload));
  auto q = undecodable_spool_record(r);
  EXPECT_EQ(q.body, r.payload);
  EXPECT_EQ(q.provider, "dlrd.spool");
  EXPECT_EQ(q.reason.rfind("spool: ", 0), 0u) << q.reason;
  EXPECT_EQ(q.received_at, report::time_point{});
  // The same record read again (a replay after an unknown commit outcome) gives the same row.
  r.spooled_at += 5s;
  r.seq = 43;
  EXPECT_EQ(undecodable_spool_record(r), q);
}

flush_gate::batch committed_batch(std::vector<std::uint64_t> seqs, std::uint64_t connection, std::uint64_t lsn) {
  flush_gate::batch b;
  b.seqs = std::move(seqs);
  b.committed_at = store::wal_position{connection, lsn};
  b.since = std::chrono::steady_clock::now();
  return b;
}

TEST(flush_gate, a_batch_is_released_only_once_the_flush_position_reaches_its_commit) {
  flush_gate gate;
  gate.add(committed_batch({1, 2, 3}, 1, 1000));
  EXPECT_TRUE(gate.release({1, 999}).empty());
  EXPECT_TRUE(gate.release({0, 5000}).empty());  // no answer: nothing is known
  EXPECT_EQ(gate.size(), 1u);
  EXPECT_EQ(gate.release({1, 1000}), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_TRUE(gate.empty());
}

TEST(flush_gate, a_position_from_another_connection_releases_nothing_and_marks_the_batch_stale) {
  flush_gate gate;
  gate.add(committed_batch({1}, 1, 1000));
  gate.add(committed_batch({2}, 2, 50));
  // After a crash recovery the log goes on past the old LSN without the lost commit in it.
  EXPECT_EQ(gate.release({2, 5000}), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(gate.size(), 1u);
  EXPECT_TRUE(gate.take_stale(0).empty());  // not connected: nothing decided
  EXPECT_TRUE(gate.take_stale(1).empty());
  auto stale = gate.take_stale(2);
  ASSERT_EQ(stale.size(), 1u);
  EXPECT_EQ(stale[0].seqs, (std::vector<std::uint64_t>{1}));
  EXPECT_TRUE(gate.empty());
}

TEST(flush_gate, the_spool_checkpoint_stays_a_prefix_when_a_later_batch_is_flushed_first) {
  spool::test::temp_dir dir;
  auto config = spool::test::test_config(dir.path());
  spool::recovery_report report;
  auto journal = spool::open_file_journal(config, report);
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(spool::test::append_wait(*journal, {"r" + std::to_string(i)}), spool::append_result::durable);
  }
  auto seqs_of = [](const std::vector<spool::record>& rs) {
    std::vector<std::uint64_t> out;
    for (const auto& r : rs) out.push_back(r.seq);
    return out;
  };
  auto first = journal->take(4, 0ms, std::chrono::steady_clock::now() + 1s);
  auto second = journal->take(4, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(first.size(), 4u);
  ASSERT_EQ(second.size(), 4u);
  // Two writers, two servers' views: the first batch's commit is not flushed, the second's is.
  flush_gate a, b;
  a.add(committed_batch(seqs_of(first), 1, 2000));
  b.add(committed_batch(seqs_of(second), 1, 1000));
  EXPECT_TRUE(a.release({1, 1500}).empty());
  journal->commit(b.release({1, 1500}));
  journal.reset();

  journal = spool::open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 0u);  // records 1-4 were never trimmed, so neither were 5-8
  EXPECT_EQ(report.records_to_replay, 8u);
  auto replayed = journal->take(8, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(replayed.size(), 8u);
  a.add(committed_batch({1, 2, 3, 4}, 1, 2000));
  journal->commit(a.release({1, 2000}));
  journal.reset();
  journal = spool::open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 4u);
}

#else

class writer_pool_pg : public test::pg_test {};

TEST_F(writer_pool_pg, a_record_that_does_not_decode_is_quarantined_raw_and_the_rest_of_its_batch_is_written) {
  spdlog::set_level(spdlog::level::off);
  auto journal = spool::make_memory_journal({});
  auto bad = from_a_future_version();
  auto good = report::encode(report::ingest_record{a_report()});
  std::promise<spool::append_result> done;
  journal->append({bad, good}, [&](spool::append_result r) { done.set_value(r); });
  ASSERT_EQ(done.get_future().get(), spool::append_result::durable);

  store::store_config config;
  config.workers = 1;
  writer_pool writers(*journal, store::database_config{url(), 2s, false}, config);
  writers.start();
  for (int i = 0; i < 500 && writers.rows_committed() < 2; ++i) std::this_thread::sleep_for(10ms);
  writers.stop();
  spdlog::set_level(spdlog::level::info);
  EXPECT_EQ(writers.rows_committed(), 2u);

  auto rows = test::query(url(), "SELECT provider, reason, encode(body, 'hex') FROM dlr_quarantine");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "dlrd.spool");
  std::string hex;
  for (unsigned char c : bad) {
    const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 0xf];
  }
  EXPECT_EQ(rows[0][2].as<std::string>(), hex);
  EXPECT_EQ(test::query(url(), "SELECT status FROM sms_logs WHERE message_id = 'spool-decode-1'")[0][0].as<std::string>(),
            "delivered");
}

TEST_F(writer_pool_pg, an_asynchronous_commit_leaves_the_spool_once_postgresql_confirms_it_flushed) {
  auto journal = spool::make_memory_journal({});
  std::promise<spool::append_result> done;
  journal->append({report::encode(report::ingest_record{a_report()})},
                  [&](spool::append_result r) { done.set_value(r); });
  ASSERT_EQ(done.get_future().get(), spool::append_result::durable);

  store::store_config config;
  config.workers = 1;
  config.synchronous_commit = false;
  writer_pool writers(*journal, store::database_config{url(), 2s, false}, config);
  writers.start();
  // No later batch brings a flush position: the idle writer's poll (or its forced flush) must.
  for (int i = 0; i < 500 && journal->snapshot().backlog_records > 0; ++i) std::this_thread::sleep_for(10ms);
  writers.stop();
  EXPECT_EQ(writers.rows_committed(), 1u);
  EXPECT_EQ(journal->snapshot().backlog_records, 0u);
  EXPECT_EQ(test::query(url(), "SELECT count(*) FROM sms_logs")[0][0].as<int>(), 1);
}

#endif

}  // namespace
}  // namespace dlrd::app
