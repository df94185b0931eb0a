// The memory journal: bounded, taken in order, committed by seq, and its backlog statistics.
#include "spool_test_support.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace dlrd::spool::test {
namespace {

using namespace std::chrono_literals;

TEST(spool_memory_journal, backlog_and_oldest_age_follow_what_is_not_yet_committed) {
  auto j = make_memory_journal(memory_config{3});
  EXPECT_EQ(j->snapshot().oldest_spooled_at, std::chrono::steady_clock::time_point{});
  auto before = std::chrono::steady_clock::now();
  ASSERT_EQ(append_wait(*j, {"a", "b"}), append_result::durable);
  std::this_thread::sleep_for(10ms);
  auto between = std::chrono::steady_clock::now();
  ASSERT_EQ(append_wait(*j, {"c"}), append_result::durable);
  EXPECT_EQ(append_wait(*j, {"d"}), append_result::full);  // 3 held: taken or not, until committed

  auto taken = j->take(2, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(payloads_of(taken), (std::vector<std::string>{"a", "b"}));
  auto s = j->snapshot();
  EXPECT_EQ(s.backlog_records, 3u);
  EXPECT_GE(s.oldest_spooled_at, before);
  EXPECT_LT(s.oldest_spooled_at, between);

  j->commit({taken[0].seq, taken[1].seq, 999});  // an unknown seq changes nothing
  s = j->snapshot();
  EXPECT_EQ(s.backlog_records, 1u);
  EXPECT_EQ(s.records_committed, 2u);
  EXPECT_GE(s.oldest_spooled_at, between);  // "c", still waiting to be taken

  auto rest = j->take(5, 0ms, std::chrono::steady_clock::now() + 1s);
  ASSERT_EQ(payloads_of(rest), (std::vector<std::string>{"c"}));
  j->commit({rest[0].seq});
  s = j->snapshot();
  EXPECT_EQ(s.backlog_records, 0u);
  EXPECT_EQ(s.oldest_spooled_at, std::chrono::steady_clock::time_point{});
  EXPECT_EQ(append_wait(*j, {"d"}), append_result::durable);
}

}  // namespace
}  // namespace dlrd::spool::test
