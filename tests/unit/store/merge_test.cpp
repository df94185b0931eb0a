// Property tests for merge_batch: any order, duplication or split of a batch merges to the same winners.
#include <dlrd/store/writer.hpp>

#include "support/report_gen.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using dlrd::report::delivery_report;
using dlrd::report::status;
using dlrd::store::merge_batch;
using dlrd::test::fold_winners;
using dlrd::test::make_report;

constexpr int rounds = 300;

TEST(merge_batch, keeps_one_winner_per_message_sorted_by_message_id) {
  dlrd::test::report_gen gen(1);
  for (int round = 0; round < rounds; ++round) {
    auto reports = gen.reports(6, 8);
    auto merged = merge_batch(reports);
    auto expected = fold_winners(reports);
    ASSERT_EQ(merged.size(), expected.size());
    EXPECT_TRUE(std::is_sorted(merged.begin(), merged.end(),
                               [](const auto& a, const auto& b) { return a.message_id < b.message_id; }));
    for (const auto& w : merged) {
      EXPECT_EQ(dlrd::report::order_key(w), dlrd::report::order_key(expected.at(w.message_id)))
          << "round " << round << " message " << w.message_id;
    }
  }
}

TEST(merge_batch, every_permutation_and_duplication_gives_the_same_winners) {
  dlrd::test::report_gen gen(2);
  for (int round = 0; round < rounds; ++round) {
    auto reports = gen.reports(4, 6);
    const auto reference = merge_batch(reports);
    for (int variant = 0; variant < 10; ++variant) {
      auto input = reports;
      auto extra = gen.rng()() % (reports.size() + 1);
      for (std::size_t i = 0; i < extra; ++i) input.push_back(reports[gen.rng()() % reports.size()]);
      std::shuffle(input.begin(), input.end(), gen.rng());
      ASSERT_EQ(merge_batch(input), reference) << "round " << round << " variant " << variant;
    }
  }
}

TEST(merge_batch, merging_split_batches_equals_merging_the_whole) {
  dlrd::test::report_gen gen(3);
  for (int round = 0; round < rounds; ++round) {
    auto reports = gen.reports(5, 6);
    std::shuffle(reports.begin(), reports.end(), gen.rng());
    auto cut = static_cast<std::ptrdiff_t>(gen.rng()() % (reports.size() + 1));
    std::vector<delivery_report> first(reports.begin(), reports.begin() + cut);
    std::vector<delivery_report> second(reports.begin() + cut, reports.end());
    auto partial = merge_batch(first);
    auto rest = merge_batch(second);
    partial.insert(partial.end(), rest.begin(), rest.end());
    ASSERT_EQ(merge_batch(partial), merge_batch(reports)) << "round " << round;
  }
}

TEST(merge_batch, late_expired_never_beats_delivered) {
  std::vector<delivery_report> reports{
      make_report("m1", status::delivered, "DELIVRD", 1'000'000),
      make_report("m1", status::expired, "EXPIRED", 9'000'000),
      make_report("m1", status::pending, "ENROUTE", 10'000'000),
  };
  auto merged = merge_batch(reports);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].canonical, status::delivered);
}

TEST(merge_batch, a_later_failure_beats_an_earlier_failure) {
  std::vector<delivery_report> reports{
      make_report("m1", status::rejected, "REJECTD", 5'000'000),
      make_report("m1", status::expired, "EXPIRED", 6'000'000),
  };
  auto merged = merge_batch(reports);
  ASSERT_EQ(merged.size(), 1u);
  EXPECT_EQ(merged[0].canonical, status::expired);
}

TEST(merge_batch, an_empty_batch_merges_to_nothing) { EXPECT_TRUE(merge_batch({}).empty()); }

}  // namespace
