// `inspect_spool` reads a stopped spool without changing it.
#include <dlrd/spool/inspect.hpp>

#include "spool_test_support.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace dlrd::spool::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> snapshot_dir(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    out[e.path().filename().string()] = s.str() + "@" +
        std::to_string(std::filesystem::last_write_time(e.path()).time_since_epoch().count());
  }
  return out;
}

TEST(spool_inspect, reports_counts_checkpoint_and_oldest_unsent_of_a_stopped_spool_and_changes_nothing) {
  temp_dir dir;
  auto config = test_config(dir.path());
  config.segment_bytes = 300;
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (int i = 0; i < 12; ++i) {
    ASSERT_EQ(append_wait(*j, {"inspect-me-" + std::to_string(i) + std::string(80, 'x')}), append_result::durable);
  }
  auto taken = j->take(5, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(taken.size(), 5u);
  j->commit({1, 2, 3, 4, 5});
  j.reset();  // persists checkpoint 5; deletes the segments it covers

  auto before = snapshot_dir(dir.path());
  auto r = inspect_spool(dir.path());
  EXPECT_EQ(snapshot_dir(dir.path()), before);

  ASSERT_TRUE(r.checkpoint.has_value());
  EXPECT_EQ(*r.checkpoint, 5u);
  EXPECT_EQ(r.unsent_records, 7u);
  ASSERT_TRUE(r.oldest_unsent_seq.has_value());
  EXPECT_EQ(*r.oldest_unsent_seq, 6u);
  EXPECT_TRUE(r.oldest_unsent_segment_modified.has_value());
  EXPECT_EQ(r.corrupt_segments, 0u);
  EXPECT_EQ(r.segments.size(), segment_files(dir.path()).size());
  std::uint64_t records = 0;
  for (const auto& s : r.segments) {
    records += s.records;
    EXPECT_TRUE(s.problem.empty());
    EXPECT_EQ(s.bytes, std::filesystem::file_size(dir / s.name));
  }
  EXPECT_EQ(records, r.records);
  EXPECT_GE(r.records, 7u);
  EXPECT_EQ(r.segments.back().last_seq, 12u);

  auto text = format_inspect(r);
  EXPECT_NE(text.find("checkpoint:  5"), std::string::npos) << text;
  EXPECT_NE(text.find("oldest seq 6"), std::string::npos) << text;
  EXPECT_NE(text.find(r.segments.front().name), std::string::npos) << text;
}

TEST(spool_inspect, reports_a_torn_tail_without_repairing_it) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  ASSERT_EQ(append_wait(*j, {"one"}), append_result::durable);
  ASSERT_EQ(append_wait(*j, {"two"}), append_result::durable);
  j.reset();
  auto seg = dir / segment_files(dir.path()).at(0);
  auto size = std::filesystem::file_size(seg);
  std::filesystem::resize_file(seg, size - 2);

  auto r = inspect_spool(dir.path());
  EXPECT_EQ(r.corrupt_segments, 1u);
  ASSERT_EQ(r.segments.size(), 1u);
  EXPECT_EQ(r.segments[0].records, 1u);
  EXPECT_FALSE(r.segments[0].problem.empty());
  EXPECT_FALSE(r.checkpoint.has_value());
  EXPECT_EQ(std::filesystem::file_size(seg), size - 2);
  EXPECT_NE(format_inspect(r).find("truncated"), std::string::npos);
}

TEST(spool_inspect, an_empty_directory_is_an_empty_spool) {
  temp_dir dir;
  auto r = inspect_spool(dir.path());
  EXPECT_TRUE(r.segments.empty());
  EXPECT_EQ(r.unsent_records, 0u);
  EXPECT_FALSE(r.oldest_unsent_seq.has_value());
  EXPECT_NE(format_inspect(r).find("checkpoint:  none"), std::string::npos);
}

TEST(spool_inspect, a_missing_directory_throws) {
  EXPECT_THROW(inspect_spool("/nonexistent/dlrd-spool-test"), std::system_error);
}

}  // namespace
}  // namespace dlrd::spool::test
