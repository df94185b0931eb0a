// spool.retain_committed: fully committed segments are kept for a while (and within a byte
// bound), survive a restart, and a replay reader gives back every record still on disk,
// committed or not, so that a database that lost confirmed commits can be written again.
#include <dlrd/spool/file_journal.hpp>

#include "spool_test_support.hpp"

#include <gtest/gtest.h>

namespace dlrd::spool::test {
namespace {

using namespace std::chrono_literals;

spool_config retaining(const std::string& dir, std::chrono::milliseconds window,
                       std::size_t max_bytes = std::size_t{1} << 30) {
  auto c = test_config(dir);
  c.retain_committed = window;
  c.retain_committed_max_bytes = max_bytes;
  return c;
}

void append_n(journal& j, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    ASSERT_EQ(append_wait(j, {"report-" + std::to_string(i) + std::string(180, 'x')}), append_result::durable);
  }
}

std::vector<std::uint64_t> replayed_seqs(journal& j) {
  std::vector<std::uint64_t> seqs;
  auto reader = j.replay();
  if (!reader) return seqs;
  for (auto batch = reader->next(7); !batch.empty(); batch = reader->next(7)) {
    for (const auto& r : batch) seqs.push_back(r.seq);
  }
  return seqs;
}

std::vector<std::uint64_t> one_to(std::uint64_t n) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

TEST(spool_retention, committed_segments_stay_for_the_window_and_a_replay_reads_every_record_back) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(retaining(dir.path(), 1h), report);
  append_n(*j, 0, 60);
  ASSERT_EQ(take_all(*j, true).size(), 60u);
  // Committed and checkpointed, yet nothing is deleted: the segments are retained.
  ASSERT_TRUE(eventually([&] { return j->snapshot().retained_segments >= 2; }));
  EXPECT_GT(segment_files(dir.path()).size(), 2u);
  EXPECT_GT(j->snapshot().retained_bytes, 0u);
  EXPECT_EQ(j->snapshot().backlog_records, 0u);

  append_n(*j, 60, 5);  // not taken: live records are replayed too
  EXPECT_EQ(replayed_seqs(*j), one_to(65));
}

TEST(spool_retention, past_the_window_or_the_byte_bound_the_oldest_retained_segments_go) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(retaining(dir.path(), 300ms), report);
  append_n(*j, 0, 60);
  ASSERT_EQ(take_all(*j, true).size(), 60u);
  ASSERT_TRUE(eventually([&] { return j->snapshot().retained_segments >= 2; }));
  EXPECT_TRUE(eventually([&] { return segment_files(dir.path()).size() <= 1; }));
  EXPECT_EQ(j->snapshot().retained_segments, 0u);
  j.reset();

  temp_dir small;
  j = open_file_journal(retaining(small.path(), 1h, 9000), report);
  append_n(*j, 0, 60);
  ASSERT_EQ(take_all(*j, true).size(), 60u);
  ASSERT_TRUE(eventually([&] { return j->snapshot().retained_segments >= 1; }));
  EXPECT_LE(j->snapshot().retained_bytes, 9000u);
  auto seqs = replayed_seqs(*j);
  ASSERT_FALSE(seqs.empty());
  EXPECT_GT(seqs.front(), 1u);  // the oldest went first
  EXPECT_EQ(seqs.back(), 60u);
}

TEST(spool_retention, retained_segments_and_the_database_identity_survive_a_restart) {
  temp_dir dir;
  recovery_report report;
  auto config = retaining(dir.path(), 1h);
  auto j = open_file_journal(config, report);
  EXPECT_EQ(j->database_identity(), "");
  j->set_database_identity("system 7 timeline 1");
  append_n(*j, 0, 40);
  ASSERT_EQ(take_all(*j, true).size(), 40u);
  ASSERT_TRUE(eventually([&] { return j->snapshot().retained_segments >= 2; }));
  j.reset();

  j = open_file_journal(config, report);
  EXPECT_EQ(report.checkpoint, 40u);
  EXPECT_EQ(report.records_to_replay, 0u);
  EXPECT_EQ(report.segments_deleted, 0u);
  EXPECT_EQ(j->database_identity(), "system 7 timeline 1");
  EXPECT_TRUE(take_all(*j, false, 20ms).empty());  // committed: not handed to writers again
  EXPECT_EQ(replayed_seqs(*j), one_to(40));        // but there for a replay
}

TEST(spool_retention, no_window_means_no_replay_and_nothing_kept) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(retaining(dir.path(), 0ms), report);
  append_n(*j, 0, 40);
  ASSERT_EQ(take_all(*j, true).size(), 40u);
  EXPECT_TRUE(eventually([&] { return segment_files(dir.path()).size() <= 1; }));
  EXPECT_EQ(j->replay(), nullptr);
  EXPECT_EQ(j->snapshot().retained_segments, 0u);
}

TEST(spool_retention, while_a_replay_reads_no_segment_is_deleted) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(retaining(dir.path(), 50ms), report);
  append_n(*j, 0, 40);
  auto reader = j->replay();
  ASSERT_NE(reader, nullptr);
  ASSERT_EQ(take_all(*j, true).size(), 40u);
  std::this_thread::sleep_for(200ms);  // several checkpoints past the window
  std::vector<std::uint64_t> seqs;
  for (auto batch = reader->next(100); !batch.empty(); batch = reader->next(100)) {
    for (const auto& r : batch) seqs.push_back(r.seq);
  }
  EXPECT_EQ(seqs, one_to(40));
  reader.reset();
  EXPECT_TRUE(eventually([&] { return segment_files(dir.path()).size() <= 1; }));
}

}  // namespace
}  // namespace dlrd::spool::test
