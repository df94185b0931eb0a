// The file journal at run time: group commit, take/commit/checkpoint, trimming, limits,
// failure injection, close.
#include <dlrd/spool/file_journal.hpp>

#include "spool_test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace dlrd::spool::test {
namespace {

using namespace std::chrono_literals;

std::string payload_for(int i, std::size_t size = 64) {
  std::string p = "report-" + std::to_string(i) + "-";
  while (p.size() < size) p += static_cast<char>('a' + (p.size() * 7 + static_cast<std::size_t>(i)) % 26);
  return p;
}

TEST(spool_file_journal, acked_records_are_taken_in_order_committed_checkpointed_and_their_segments_deleted) {
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(append_wait(*j, {payload_for(i, 200)}), append_result::durable);
  EXPECT_GT(segment_files(dir.path()).size(), 2u);

  auto records = take_all(*j, true);
  ASSERT_EQ(records.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(records[i].seq, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(records[i].payload, payload_for(i, 200));
  }
  EXPECT_TRUE(eventually([&] { return segment_files(dir.path()).size() <= 1; }));
  auto s = j->snapshot();
  EXPECT_EQ(s.records_appended, 50u);
  EXPECT_EQ(s.records_committed, 50u);
  EXPECT_EQ(s.backlog_records, 0u);
  j.reset();

  j = open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 50u);
  EXPECT_EQ(report.records_to_replay, 0u);
  EXPECT_TRUE(take_all(*j, false, 20ms).empty());
  ASSERT_EQ(append_wait(*j, {"next"}), append_result::durable);
  auto next = take_all(*j, false);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].seq, 51u);
}

TEST(spool_file_journal, restart_replays_everything_after_the_checkpoint_and_nothing_before) {
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(append_wait(*j, {payload_for(i)}), append_result::durable);
  auto first = j->take(8, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(first.size(), 8u);
  std::vector<std::uint64_t> seqs;
  for (const auto& r : first) seqs.push_back(r.seq);
  // Out of order: the checkpoint is the contiguous prefix either way.
  std::reverse(seqs.begin(), seqs.end());
  j->commit(seqs);
  EXPECT_EQ(take_all(*j, false).size(), 12u);  // taken, never committed
  j.reset();

  j = open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 8u);
  EXPECT_EQ(report.records_to_replay, 12u);
  auto replayed = take_all(*j, false);
  ASSERT_EQ(replayed.size(), 12u);
  for (std::size_t i = 0; i < replayed.size(); ++i) {
    EXPECT_EQ(replayed[i].seq, 9 + i);
    EXPECT_EQ(replayed[i].payload, payload_for(static_cast<int>(8 + i)));
  }
}

TEST(spool_file_journal, the_oldest_record_age_follows_the_oldest_uncommitted_record) {
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  EXPECT_EQ(j->snapshot().oldest_spooled_at, std::chrono::steady_clock::time_point{});  // empty

  auto before_first = std::chrono::steady_clock::now();
  ASSERT_EQ(append_wait(*j, {payload_for(0)}), append_result::durable);
  std::this_thread::sleep_for(20ms);
  auto before_second = std::chrono::steady_clock::now();
  ASSERT_EQ(append_wait(*j, {payload_for(1)}), append_result::durable);

  auto waiting = j->snapshot().oldest_spooled_at;  // nothing taken yet: the first record's time
  EXPECT_GE(waiting, before_first);
  EXPECT_LT(waiting, before_second);

  auto records = take_all(*j, false);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(j->snapshot().oldest_spooled_at, waiting);  // taken, not committed: still the oldest
  j->commit({records[0].seq});
  EXPECT_GE(j->snapshot().oldest_spooled_at, before_second);  // the second one is the oldest now
  j->commit({records[1].seq});
  EXPECT_EQ(j->snapshot().oldest_spooled_at, std::chrono::steady_clock::time_point{});
  j.reset();

  // Records recovered at start count from the recovery.
  ASSERT_EQ(append_wait(*open_file_journal(config, report), {payload_for(2)}), append_result::durable);
  auto before_open = std::chrono::steady_clock::now();
  j = open_file_journal(config, report);
  EXPECT_EQ(report.records_to_replay, 1u);
  EXPECT_GE(j->snapshot().oldest_spooled_at, before_open);
}

TEST(spool_file_journal, a_commit_gap_holds_the_checkpoint_back) {
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(append_wait(*j, {payload_for(i)}), append_result::durable);
  auto records = take_all(*j, false);
  ASSERT_EQ(records.size(), 5u);
  j->commit({1, 2, 4, 5});  // 3 is still being written by another writer
  j.reset();
  j = open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 2u);
  EXPECT_EQ(payloads_of(take_all(*j, false)),
            (std::vector<std::string>{payload_for(2), payload_for(3), payload_for(4)}));
}

TEST(spool_file_journal, concurrent_appends_are_group_committed_and_each_handler_is_called_once) {
  auto fs = std::make_shared<sim_fs>();
  fs->set_sync_delay(300us);
  auto config = test_config("/sim/spool");
  config.segment_bytes = 1u << 20;
  recovery_report report;
  auto j = open_file_journal(config, report, fs);
  constexpr int threads = 8, per_thread = 100, units = threads * per_thread;
  std::vector<std::atomic<int>> calls(units);
  std::atomic<int> durable{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < threads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        int id = t * per_thread + i;
        j->append({payload_for(id), payload_for(id + units)}, [&, id](append_result r) {
          calls[id].fetch_add(1);
          if (r == append_result::durable) durable.fetch_add(1);
        });
        if (i % 10 == 0) std::this_thread::sleep_for(100us);
      }
    });
  }
  for (auto& p : producers) p.join();
  ASSERT_TRUE(eventually([&] { return durable.load() == units; }, 20s));
  for (int id = 0; id < units; ++id) EXPECT_EQ(calls[id].load(), 1) << id;
  EXPECT_LT(fs->data_syncs(), static_cast<std::uint64_t>(units));
  auto s = j->snapshot();
  EXPECT_EQ(s.syncs, fs->data_syncs());
  EXPECT_EQ(s.groups_written, s.syncs);
  EXPECT_EQ(s.records_appended, 2u * units);

  auto records = take_all(*j, false);
  ASSERT_EQ(records.size(), 2u * units);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].seq, i + 1);
    seen.insert(records[i].payload);
  }
  EXPECT_EQ(seen.size(), 2u * units);
  j.reset();
  for (int id = 0; id < units; ++id) EXPECT_EQ(calls[id].load(), 1) << id;
}

TEST(spool_file_journal, concurrent_takers_receive_each_record_exactly_once_even_from_disk) {
  temp_dir dir;
  auto config = test_config(dir.path());
  config.cache_bytes = 2048;  // most records are read back from the segments
  recovery_report report;
  auto j = open_file_journal(config, report);
  constexpr int units = 1500;
  std::atomic<int> answered{0};
  for (int i = 0; i < units; ++i) {
    j->append({payload_for(i, 100)}, [&](append_result r) {
      EXPECT_EQ(r, append_result::durable);
      answered.fetch_add(1);
    });
  }
  std::mutex m;
  std::vector<record> got;
  std::vector<std::thread> takers;
  for (int t = 0; t < 4; ++t) {
    takers.emplace_back([&] {
      for (;;) {
        auto batch = j->take(37, 1ms, std::chrono::steady_clock::now() + 300ms);
        if (batch.empty()) return;
        std::vector<std::uint64_t> seqs;
        for (const auto& r : batch) seqs.push_back(r.seq);
        j->commit(seqs);
        std::lock_guard l(m);
        for (auto& r : batch) got.push_back(std::move(r));
      }
    });
  }
  for (auto& t : takers) t.join();
  ASSERT_EQ(answered.load(), units);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(units));
  std::sort(got.begin(), got.end(), [](const record& a, const record& b) { return a.seq < b.seq; });
  for (int i = 0; i < units; ++i) {
    EXPECT_EQ(got[i].seq, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(got[i].payload, payload_for(i, 100));
  }
  EXPECT_EQ(j->snapshot().backlog_records, 0u);
}

TEST(spool_file_journal, take_waits_for_a_fuller_batch_at_most_linger_and_returns_empty_at_deadline) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(j->take(10, 0ms, start + 50ms).empty());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  ASSERT_EQ(append_wait(*j, {"a"}), append_result::durable);
  std::thread late([&] {
    std::this_thread::sleep_for(20ms);
    j->append({"b"}, [](append_result) {});
  });
  auto batch = j->take(10, 500ms, std::chrono::steady_clock::now() + 5s);
  late.join();
  // Lingered for "b", but not until max: linger ran out first.
  EXPECT_EQ(payloads_of(batch), (std::vector<std::string>{"a", "b"}));
}

TEST(spool_file_journal, append_is_answered_full_over_max_bytes_until_committed_segments_are_deleted) {
  temp_dir dir;
  auto config = test_config(dir.path());
  config.segment_bytes = 1024;
  config.max_bytes = 4096;
  recovery_report report;
  auto j = open_file_journal(config, report);
  int accepted = 0;
  append_result r;
  while ((r = append_wait(*j, {payload_for(accepted, 480)})) == append_result::durable) ++accepted;
  EXPECT_EQ(r, append_result::full);
  EXPECT_GE(accepted, 6);
  EXPECT_LE(accepted, 8);
  EXPECT_EQ(j->snapshot().appends_full, 1u);
  EXPECT_EQ(append_wait(*j, {payload_for(99, 480)}), append_result::full);

  EXPECT_EQ(take_all(*j, true).size(), static_cast<std::size_t>(accepted));
  EXPECT_TRUE(eventually([&] { return j->snapshot().backlog_bytes < 1024; }));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(append_wait(*j, {payload_for(100 + i, 480)}), append_result::durable);
}

TEST(spool_file_journal, a_payload_over_the_record_limit_is_answered_full) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  EXPECT_EQ(append_wait(*j, {"ok", std::string(max_record_payload + 1, 'x')}), append_result::full);
  EXPECT_TRUE(take_all(*j, false, 20ms).empty());
}

TEST(spool_file_journal, fsync_never_makes_no_sync_calls_and_is_readable_after_a_clean_restart) {
  auto fs = std::make_shared<sim_fs>();
  auto config = test_config("/sim/spool");
  config.fsync = false;
  recovery_report report;
  auto j = open_file_journal(config, report, fs);
  for (int i = 0; i < 30; ++i) ASSERT_EQ(append_wait(*j, {payload_for(i, 300)}), append_result::durable);
  auto taken = j->take(10, 0ms, std::chrono::steady_clock::now() + 1s);
  std::vector<std::uint64_t> seqs;
  for (const auto& r : taken) seqs.push_back(r.seq);
  j->commit(seqs);
  j.reset();
  EXPECT_EQ(fs->syncs(), 0u);
  EXPECT_EQ(fs->data_syncs(), 0u);

  j = open_file_journal(config, report, fs);
  EXPECT_EQ(report.checkpoint, 10u);
  auto rest = take_all(*j, false);
  ASSERT_EQ(rest.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(rest[i].payload, payload_for(10 + i, 300));
}

/// Appends `units` units one at a time with a failure injected by `inject`; checks that
/// exactly the unit hit gets io_error, that the next one is durable again, and that
/// every acked unit is there after a restart (clean, then after a power loss).
void run_failure_injection(std::uint64_t n, bool fail_sync) {
  SCOPED_TRACE((fail_sync ? "sync #" : "write #") + std::to_string(n));
  auto fs = std::make_shared<sim_fs>();
  auto config = test_config("/sim/spool");
  config.checkpoint_interval = 1h;
  recovery_report report;
  auto j = open_file_journal(config, report, fs);
  if (fail_sync) fs->fail_sync_at(n);
  else fs->fail_write_at(n);
  constexpr int units = 10;
  std::vector<append_result> results;
  for (int i = 0; i < units; ++i) results.push_back(append_wait(*j, {payload_for(i), payload_for(i + 100)}));
  int failed = 0;
  for (int i = 0; i < units; ++i) {
    if (results[i] == append_result::io_error) {
      ++failed;
      if (i + 1 < units) {
        EXPECT_EQ(results[i + 1], append_result::durable);
      }
    } else {
      EXPECT_EQ(results[i], append_result::durable) << i;
    }
  }
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(j->snapshot().appends_failed, 1u);
  // In this process, nothing of the failed unit reaches a writer.
  std::set<std::string> live;
  for (auto& p : payloads_of(take_all(*j, false))) live.insert(p);
  for (int i = 0; i < units; ++i) {
    bool durable = results[i] == append_result::durable;
    EXPECT_EQ(live.contains(payload_for(i)), durable) << i;
    EXPECT_EQ(live.contains(payload_for(i + 100)), durable) << i;
  }
  j.reset();

  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      std::mt19937_64 rng(n);
      fs->crash(rng);
    }
    j = open_file_journal(config, report, fs);
    std::set<std::string> after;
    for (auto& p : payloads_of(take_all(*j, false))) after.insert(p);
    for (int i = 0; i < units; ++i) {
      if (results[i] != append_result::durable) continue;
      EXPECT_TRUE(after.contains(payload_for(i))) << "round " << round << " unit " << i;
      EXPECT_TRUE(after.contains(payload_for(i + 100))) << "round " << round << " unit " << i;
    }
    EXPECT_EQ(append_wait(*j, {"after restart"}), append_result::durable);
    j.reset();
  }
}

TEST(spool_file_journal, the_nth_write_failing_fails_only_its_group_and_the_next_unit_uses_a_new_segment) {
  for (std::uint64_t n = 1; n <= 10; ++n) run_failure_injection(n, false);
}

TEST(spool_file_journal, the_nth_sync_failing_fails_only_its_group_and_the_next_unit_uses_a_new_segment) {
  // Unit 1 takes three syncs (file, directory, data); every later unit one.
  for (std::uint64_t n = 1; n <= 12; ++n) run_failure_injection(n, true);
}

TEST(spool_file_journal, close_answers_new_appends_stopped_and_takers_drain_then_get_empty) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  std::atomic<int> durable{0};
  for (int i = 0; i < 5; ++i) {
    j->append({payload_for(i)}, [&](append_result r) {
      if (r == append_result::durable) durable.fetch_add(1);
    });
  }
  j->close();
  EXPECT_EQ(durable.load(), 5);  // queued before close: written, not dropped
  EXPECT_EQ(append_wait(*j, {"late"}), append_result::stopped);
  EXPECT_EQ(take_all(*j, true, 5s).size(), 5u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(j->take(10, 100ms, start + 5s).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  j.reset();
  j = open_file_journal(test_config(dir.path()), report);
  EXPECT_EQ(report.checkpoint, 5u);
  EXPECT_EQ(report.records_to_replay, 0u);
}

}  // namespace
}  // namespace dlrd::spool::test
