// The writer against a real PostgreSQL: convergence in any order, dedup, quarantine, concurrency, reconnects.
#include <dlrd/store/writer.hpp>

#include "support/writer_fixture.hpp"
#include "support/report_gen.hpp"
#include "random_batches.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::ingest_record;
using dlrd::report::quarantined_payload;
using dlrd::report::status;
using dlrd::store::write_outcome;
using dlrd::store::writer;
using dlrd::test::make_report;
using dlrd::test::query;

constexpr std::int64_t t0 = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z in microseconds
constexpr std::int64_t second = 1000000;

// Bytes a gateway might send that are neither UTF-8 nor NUL-free.
constexpr std::string_view binary_body{"\x00\xff\x80{\"id\":1}\x00", 12};

// What the row shows about delivery state.
struct row_state {
  std::string status;
  std::optional<std::string> raw_status;
  std::optional<std::int64_t> status_at_us;
  std::optional<std::string> error_code;
  bool operator==(const row_state&) const = default;
};

std::ostream& operator<<(std::ostream& os, const row_state& r) {
  return os << r.status << "/" << r.raw_status.value_or("NULL") << "@"
            << (r.status_at_us ? std::to_string(*r.status_at_us) : "NULL") << " err=" << r.error_code.value_or("NULL");
}

template <typename T>
std::optional<T> opt(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional<T>(f.as<T>());
}

std::map<std::string, row_state> all_rows(const std::string& url) {
  std::map<std::string, row_state> rows;
  for (const auto& r : query(url,
                             "SELECT message_id, status, raw_status, "
                             "(extract(epoch FROM status_at) * 1000000)::bigint, error_code FROM sms_logs")) {
    rows[r[0].as<std::string>()] = row_state{r[1].as<std::string>(), opt<std::string>(r[2]),
                                             opt<std::int64_t>(r[3]), opt<std::string>(r[4])};
  }
  return rows;
}

row_state expected_state(const delivery_report& r) {
  return row_state{std::string(dlrd::report::to_string(r.canonical)), r.raw_status,
                   r.event_at.time_since_epoch().count(), r.error_code};
}

std::int64_t count(const std::string& url, const std::string& table) {
  return query(url, "SELECT count(*) FROM " + table)[0][0].as<std::int64_t>();
}

std::vector<ingest_record> records(const std::vector<delivery_report>& reports) {
  return {reports.begin(), reports.end()};
}

class writer_test : public dlrd::test::writer_fixture {
 protected:
  write_outcome write(writer& w, const std::vector<ingest_record>& batch) { return write_with(w, batch); }
  write_outcome write(writer& w, const std::vector<delivery_report>& batch) { return write_with(w, batch); }
};

TEST_F(writer_test, out_of_order_duplicate_and_replayed_batches_converge) {
  auto w = make_writer();
  auto pending = make_report("m1", status::pending, "ENROUTE", t0);
  auto undelivered = make_report("m1", status::undelivered, "UNDELIV", t0 + 2 * second, "001");
  auto delivered = make_report("m1", status::delivered, "DELIVRD", t0 + 3 * second);

  auto first = write(w, std::vector{delivered});
  EXPECT_EQ(first.rows_changed, 1u);
  auto second_batch = write(w, std::vector{undelivered, pending, delivered});
  EXPECT_EQ(second_batch.reports, 3u);
  EXPECT_EQ(second_batch.rows_changed, 0u);
  EXPECT_EQ(second_batch.events_added, 2u);
  auto replay = write(w, std::vector{undelivered, pending, delivered});
  EXPECT_EQ(replay.rows_changed, 0u);
  EXPECT_EQ(replay.events_added, 0u);

  EXPECT_EQ(all_rows(url()).at("m1"), expected_state(delivered));
  auto delivered_at = query(url(), "SELECT (extract(epoch FROM delivered_at) * 1000000)::bigint FROM sms_logs");
  EXPECT_EQ(delivered_at[0][0].as<std::int64_t>(), t0 + 3 * second);
  EXPECT_EQ(count(url(), "dlr_events"), 3);
}

TEST_F(writer_test, late_expired_never_overwrites_delivered) {
  auto w = make_writer();
  auto delivered = make_report("m1", status::delivered, "DELIVRD", t0);
  write(w, std::vector{delivered});
  auto late = write(w, std::vector{make_report("m1", status::expired, "EXPIRED", t0 + 3600 * second, "EXP")});
  EXPECT_EQ(late.rows_changed, 0u);
  EXPECT_EQ(late.events_added, 1u);
  EXPECT_EQ(all_rows(url()).at("m1"), expected_state(delivered));
}

TEST_F(writer_test, pending_never_overwrites_a_final) {
  auto w = make_writer();
  auto rejected = make_report("m1", status::rejected, "REJECTD", t0, "0x0b");
  write(w, std::vector{rejected});
  write(w, std::vector{make_report("m1", status::pending, "ENROUTE", t0 + 60 * second)});
  EXPECT_EQ(all_rows(url()).at("m1"), expected_state(rejected));
}

TEST_F(writer_test, a_later_failure_replaces_an_earlier_failure_and_its_error_code) {
  auto w = make_writer();
  write(w, std::vector{make_report("m1", status::undelivered, "UNDELIV", t0, "001")});
  auto expired = make_report("m1", status::expired, "EXPIRED", t0 + second);
  auto out = write(w, std::vector{expired});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(all_rows(url()).at("m1"), expected_state(expired));
}

// Columns that must not depend on whether the DLR or the send was logged first.
constexpr const char* comparable_columns =
    "SELECT to_number, from_number, text_preview, status, raw_status, status_at, error_code, sent_at, delivered_at, "
    "provider, country_code, parts, cost_eur FROM sms_logs WHERE message_id = ";

TEST_F(writer_test, dlr_before_send_and_send_before_dlr_give_the_same_row) {
  auto w = make_writer();
  auto dlr = [](std::string id) {
    auto r = make_report(std::move(id), status::delivered, "DELIVRD", t0 + 5 * second);
    r.recipient = "+37255500000";
    r.parts = 2;
    r.cost = "0.0450";
    return r;
  };
  const std::string send_args =
      ", '+37255511111', 'ACME', 'your code is 1234', '2024-05-01T11:59:59Z', NULL, 0.05, 'EE')";

  write(w, std::vector{dlr("dlr-first")});
  query(url(), "SELECT dlr_log_send('dlr-first'" + send_args);
  query(url(), "SELECT dlr_log_send('send-first'" + send_args);
  write(w, std::vector{dlr("send-first")});

  auto a = query(url(), std::string(comparable_columns) + "'dlr-first'");
  auto b = query(url(), std::string(comparable_columns) + "'send-first'");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  for (pqxx::row::size_type i = 0; i < a[0].size(); ++i) {
    EXPECT_EQ(a[0][i].c_str(), std::string(b[0][i].c_str())) << "column " << a.column_name(i);
    EXPECT_EQ(a[0][i].is_null(), b[0][i].is_null()) << "column " << a.column_name(i);
  }
  EXPECT_EQ(a[0]["status"].as<std::string>(), "delivered");
  EXPECT_EQ(a[0]["to_number"].as<std::string>(), "+37255511111");
  EXPECT_EQ(a[0]["parts"].as<int>(), 2);
}

TEST_F(writer_test, a_logged_send_alone_is_pending_with_no_status_time) {
  query(url(), "SELECT dlr_log_send('only-sent', '+37255500000')");
  auto r = query(url(), "SELECT status, status_at IS NULL, sent_at IS NOT NULL FROM sms_logs");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0][0].as<std::string>(), "pending");
  EXPECT_TRUE(r[0][1].as<bool>());
  EXPECT_TRUE(r[0][2].as<bool>());
}

TEST_F(writer_test, a_report_without_a_logged_send_creates_the_row_without_a_send_time) {
  auto w = make_writer();
  auto out = write(w, std::vector{make_report("m1", status::pending, "ENROUTE", t0)});
  EXPECT_EQ(out.rows_changed, 1u);
  auto r = query(url(), "SELECT sent_at IS NULL, to_number IS NULL FROM sms_logs");
  EXPECT_TRUE(r[0][0].as<bool>());
  EXPECT_TRUE(r[0][1].as<bool>());
}

TEST_F(writer_test, the_sql_rule_equals_the_cpp_rule_for_any_split_and_order) {
  auto w = make_writer();
  dlrd::test::report_gen gen(42);
  for (int round = 0; round < 25; ++round) {
    query(url(), "TRUNCATE sms_logs, dlr_events");
    auto reports = gen.reports(30, 8);
    auto winners = dlrd::test::fold_winners(reports);
    dlrd::test::write_in_random_batches(gen, reports, [&](const std::vector<delivery_report>& b) { write(w, b); });
    auto rows = all_rows(url());
    ASSERT_EQ(rows.size(), winners.size());
    for (const auto& [id, winner] : winners) {
      ASSERT_EQ(rows.at(id), expected_state(winner)) << "round " << round << " message " << id;
    }
  }
}

TEST_F(writer_test, a_replayed_batch_adds_no_events) {
  auto w = make_writer();
  auto a = make_report("m1", status::pending, "ENROUTE", t0);
  auto b = make_report("m1", status::delivered, "DELIVRD", t0 + second);
  auto first = write(w, std::vector{a, b, b});
  EXPECT_EQ(first.events_added, 2u);
  auto again = write(w, std::vector{b, a});
  EXPECT_EQ(again.events_added, 0u);
  EXPECT_EQ(count(url(), "dlr_events"), 2);
}

TEST_F(writer_test, history_off_writes_no_events) {
  auto c = fast_retry();
  c.history = false;
  c.synchronous_commit = false;
  auto w = make_writer(c);
  auto out = write(w, std::vector{make_report("m1", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.events_added, 0u);
  EXPECT_EQ(count(url(), "dlr_events"), 0);
  EXPECT_EQ(count(url(), "sms_logs"), 1);
}

TEST_F(writer_test, an_asynchronous_commit_names_its_wal_position_and_a_forced_flush_passes_it) {
  auto c = fast_retry();
  c.synchronous_commit = false;
  auto w = make_writer(c);
  auto first = write(w, std::vector{make_report("m1", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(first.committed_at.connection, 1u);
  EXPECT_GT(first.committed_at.lsn, 0u);
  auto next = write(w, std::vector{make_report("m2", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(next.committed_at.connection, 1u);
  EXPECT_GT(next.committed_at.lsn, first.committed_at.lsn);
  auto flushed = w.flushed(true);
  EXPECT_EQ(flushed.connection, 1u);
  EXPECT_GE(flushed.lsn, next.committed_at.lsn);
  EXPECT_EQ(count(url(), "sms_logs"), 2);
}

TEST_F(writer_test, a_synchronous_commit_names_no_wal_position) {
  auto w = make_writer();
  auto out = write(w, std::vector{make_report("m1", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(out.committed_at.connection, 0u);
  EXPECT_EQ(out.committed_at.lsn, 0u);
}

TEST_F(writer_test, a_record_with_a_data_error_is_quarantined_and_does_not_block_its_batch) {
  auto w = make_writer();
  auto refused = make_report(std::string("bad\0id", 6), status::delivered, "DELIVRD", t0);  // text cannot hold NUL
  quarantined_payload payload{"smspm", "decode: missing field", "id", "application/json", std::string(binary_body),
                              dlrd::report::time_point{std::chrono::microseconds{t0}}};
  std::vector<ingest_record> batch{make_report("good-1", status::delivered, "DELIVRD", t0), refused, payload,
                                   make_report("good-2", status::undelivered, "UNDELIV", t0)};
  auto out = write(w, batch);
  EXPECT_EQ(out.rows_changed, 2u);
  EXPECT_EQ(out.quarantined, 2u);
  auto rows = all_rows(url());
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows.contains("good-1"));
  EXPECT_TRUE(rows.contains("good-2"));

  auto q = query(url(), "SELECT reason, field, convert_from(body, 'UTF8') FROM dlr_quarantine "
                        "WHERE reason LIKE 'store:%'");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0][0].as<std::string>().starts_with("store: 22P05: ")) << q[0][0].as<std::string>();
  EXPECT_EQ(q[0][1].as<std::string>(), "");
  EXPECT_NE(q[0][2].as<std::string>().find("bad\\u0000id"), std::string::npos) << q[0][2].as<std::string>();
}

TEST_F(writer_test, every_value_the_decoder_accepts_fits_its_column) {
  // The decoder takes error codes up to 64 bytes and costs below 1e12; the table held 50 bytes
  // and NUMERIC(12,5), so such reports went to quarantine as store errors and were lost to
  // sms_logs. The report is kept; a cost no SMS has (10,000 EUR or more) is not stored.
  auto w = make_writer();
  auto long_code = make_report("fit-1", status::undelivered, "UNDELIV", t0, std::string(64, 'E'));
  auto huge_cost = make_report("fit-2", status::delivered, "DELIVRD", t0);
  huge_cost.cost = "999999999999.5";
  auto fine_cost = make_report("fit-3", status::delivered, "DELIVRD", t0);
  fine_cost.cost = "9999.1234567";
  auto out = write(w, std::vector<ingest_record>{long_code, huge_cost, fine_cost});
  EXPECT_EQ(out.quarantined, 0u);
  EXPECT_EQ(out.rows_changed, 3u);
  EXPECT_EQ(out.statements, 1u) << "no refusal, so no fallback";
  auto rows = query(url(), "SELECT message_id, error_code, cost_eur::text FROM sms_logs ORDER BY message_id");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][1].as<std::string>(), std::string(64, 'E'));
  EXPECT_TRUE(rows[1][2].is_null());
  EXPECT_EQ(rows[2][2].as<std::string>(), "9999.123457");
}

TEST_F(writer_test, refused_records_cost_a_logarithmic_number_of_statements_and_any_number_fits) {
  auto w = make_writer();
  std::vector<ingest_record> batch;
  for (int i = 0; i < 256; ++i) batch.push_back(make_report("log-" + std::to_string(i), status::delivered, "DELIVRD", t0));
  batch[77] = make_report(std::string("bad\0one", 7), status::delivered, "DELIVRD", t0);
  auto out = write(w, batch);
  EXPECT_EQ(out.quarantined, 1u);
  EXPECT_EQ(out.rows_changed, 255u);
  // Halving down to the one refused record: two statements per level, plus its quarantine.
  EXPECT_LE(out.statements, 2u * 8u + 1u) << "one statement per record would be 256";

  // More refused records than PostgreSQL's subtransaction cache (64) holds, in one batch.
  std::vector<ingest_record> poisoned;
  for (int i = 0; i < 100; ++i) {
    poisoned.push_back(make_report("p-" + std::to_string(i), status::delivered, "DELIVRD", t0));
    poisoned.push_back(make_report(std::string("nul\0", 4) + std::to_string(i), status::delivered, "DELIVRD", t0));
  }
  auto many = write(w, poisoned);
  EXPECT_EQ(many.quarantined, 100u);
  EXPECT_EQ(many.rows_changed, 100u);
}

TEST_F(writer_test, text_postgresql_cannot_hold_is_quarantined_with_its_bytes_intact) {
  auto w = make_writer();
  auto nul = make_report("nul-1", status::delivered, std::string("DELIV\0RD", 8), t0);
  nul.provider = std::string("sm\0spm", 6);
  auto out = write(w, std::vector{nul, make_report("good", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(out.quarantined, 1u);
  auto q = query(url(), "SELECT provider, reason, position(convert_to('\\u0000', 'UTF8') in body) > 0 FROM dlr_quarantine");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0][0].as<std::string>(), "smspm");
  EXPECT_TRUE(q[0][1].as<std::string>().starts_with("store: 22P05: ")) << q[0][1].as<std::string>();
  EXPECT_TRUE(q[0][2].as<bool>()) << "the NUL is kept, escaped, in the JSON body";
}

TEST_F(writer_test, quarantined_payloads_keep_arbitrary_bytes) {
  auto w = make_writer();
  quarantined_payload payload{"smspm", "decode: not JSON", "", "application/octet-stream", std::string(binary_body),
                              dlrd::report::time_point{std::chrono::microseconds{t0}}};
  auto out = write(w, std::vector<ingest_record>{payload});
  EXPECT_EQ(out.quarantined, 1u);
  auto q = query(url(), "SELECT encode(body, 'hex'), reason, content_type FROM dlr_quarantine");
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0][0].as<std::string>(), "00ff807b226964223a317d00");
  EXPECT_EQ(q[0][1].as<std::string>(), "decode: not JSON");
  EXPECT_EQ(q[0][2].as<std::string>(), "application/octet-stream");
}

TEST_F(writer_test, a_replayed_batch_stores_its_quarantined_payloads_once) {
  auto w = make_writer();
  quarantined_payload payload{"smspm", "decode: not JSON", "", "text/plain", "garbage",
                              dlrd::report::time_point{std::chrono::microseconds{t0}}};
  auto later = payload;
  later.received_at += std::chrono::microseconds(1);  // the same bytes again, a moment later: kept
  auto batch = std::vector<ingest_record>{payload, make_report("m1", status::delivered, "DELIVRD", t0), later};
  EXPECT_EQ(write(w, batch).quarantined, 2u);
  // After an unknown commit outcome the writer writes the whole batch again.
  EXPECT_EQ(write(w, batch).quarantined, 0u);
  EXPECT_EQ(count(url(), "dlr_quarantine"), 2);
  EXPECT_EQ(count(url(), "dlr_events"), 1);
  // Each stored payload is noticed once, with its row's id, in the same transaction.
  auto notices = query(url(), "SELECT o.kind, o.status, o.provider, (o.details->>'quarantine_id')::bigint = q.id, "
                              "o.details->>'reason' FROM dlr_alert_outbox o JOIN dlr_quarantine q "
                              "ON q.id = (o.details->>'quarantine_id')::bigint ORDER BY q.id");
  ASSERT_EQ(notices.size(), 2u);
  for (const auto& n : notices) {
    EXPECT_EQ(n[0].as<std::string>(), "payload_quarantined");
    EXPECT_EQ(n[1].as<std::string>(), "quarantined");
    EXPECT_EQ(n[2].as<std::string>(), "smspm");
    EXPECT_EQ(n[4].as<std::string>(), "decode: not JSON");
  }
  EXPECT_EQ(count(url(), "dlr_alert_outbox"), 2);
}

TEST_F(writer_test, two_writers_on_overlapping_shuffled_batches_converge_without_deadlock) {
  dlrd::test::report_gen gen(7);
  auto reports = gen.reports(300, 6);

  dlrd::test::pg_database single;
  {
    writer one(dlrd::store::database_config{single.url(), std::chrono::seconds(2), false}, fast_retry());
    write(one, reports);
  }

  auto run = [this, &reports](std::uint64_t seed) {
    auto mine = reports;
    std::mt19937_64 rng(seed);
    std::shuffle(mine.begin(), mine.end(), rng);
    auto w = make_writer();
    for (std::size_t at = 0; at < mine.size(); at += 40) {
      std::vector<delivery_report> batch(mine.begin() + static_cast<std::ptrdiff_t>(at),
                                         mine.begin() + static_cast<std::ptrdiff_t>(std::min(at + 40, mine.size())));
      write(w, batch);
    }
  };
  std::thread a(run, 1);
  std::thread b(run, 2);
  a.join();
  b.join();

  EXPECT_EQ(all_rows(url()), all_rows(single.url()));
  EXPECT_EQ(count(url(), "dlr_events"), count(single.url(), "dlr_events"));
  // Statistics reach the shared counters when the writers' backends exit.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto deadlocks = query(url(), "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()");
  EXPECT_EQ(deadlocks[0][0].as<std::int64_t>(), 0);
}

constexpr const char* kill_writers =
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()";

TEST_F(writer_test, the_writer_survives_a_killed_connection_and_the_next_write_succeeds) {
  auto w = make_writer();
  for (int i = 0; i < 5; ++i) {
    write(w, std::vector{make_report("m" + std::to_string(i), status::delivered, "DELIVRD", t0)});
    // At least the writer's; a just-closed test connection's backend may still be exiting.
    ASSERT_GE(query(url(), kill_writers)[0][0].as<int>(), 1) << "the writer's connection was not found";
  }
  auto out = write(w, std::vector{make_report("after", status::delivered, "DELIVRD", t0)});
  EXPECT_EQ(out.rows_changed, 1u);
  EXPECT_EQ(count(url(), "sms_logs"), 6);
  EXPECT_TRUE(w.connected());
  EXPECT_EQ(w.last_error(), "");
}

TEST_F(writer_test, connection_kills_during_a_stream_of_batches_lose_nothing) {
  dlrd::test::report_gen gen(11);
  auto reports = gen.reports(400, 3);
  std::atomic<bool> done{false};
  std::thread killer([&] {
    while (!done) {
      query(url(), kill_writers);
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
    }
  });
  auto w = make_writer();
  for (std::size_t at = 0; at < reports.size(); at += 20) {
    std::vector<delivery_report> batch(reports.begin() + static_cast<std::ptrdiff_t>(at),
                                       reports.begin() + static_cast<std::ptrdiff_t>(std::min(at + 20, reports.size())));
    write(w, batch);
  }
  done = true;
  killer.join();
  auto merged = dlrd::store::merge_batch(reports);
  auto rows = all_rows(url());
  ASSERT_EQ(rows.size(), merged.size());
  for (const auto& r : merged) EXPECT_EQ(rows.at(r.message_id), expected_state(r));
}

TEST_F(writer_test, an_unreachable_database_is_reported_and_stop_ends_the_retries) {
  // Constructing a writer never connects, so a daemon can start while PostgreSQL is down.
  writer w(dlrd::store::database_config{"postgresql://postgres@127.0.0.1:1/dlrd", std::chrono::seconds(1), false},
           fast_retry());
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
  });
  EXPECT_THROW(w.write(records({make_report("m1", status::delivered, "DELIVRD", t0)}), stop), std::runtime_error);
  stopper.join();
  EXPECT_FALSE(w.connected());
  EXPECT_NE(w.last_error(), "");
}

}  // namespace
