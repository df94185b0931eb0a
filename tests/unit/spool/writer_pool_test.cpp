// A spooled record that passes its checksum but does not decode is kept raw in quarantine,
// never committed away (issue 19): the hermetic part, and the writers against PostgreSQL.
#include "writer_pool.hpp"

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

#endif

}  // namespace
}  // namespace dlrd::app
