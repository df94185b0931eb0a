// The convergence order: class rank first, then event time, then the fixed status order.
#include <dlrd/report/report.hpp>

#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace dlrd::report {
namespace {

delivery_report at(status s, std::string_view when, std::string raw = {}) {
  delivery_report r;
  r.message_id = "m";
  r.canonical = s;
  r.raw_status = raw.empty() ? std::string(to_string(s)) : std::move(raw);
  r.event_at = *parse_timestamp(when);
  return r;
}

TEST(order, late_expired_never_overwrites_delivered) {
  auto delivered = at(status::delivered, "2024-05-01T10:00:00Z");
  auto expired = at(status::expired, "2024-05-03T10:00:00Z");
  EXPECT_FALSE(wins_over(expired, delivered));
  EXPECT_TRUE(wins_over(delivered, expired));
}

TEST(order, pending_never_beats_a_final_status) {
  for (auto final_status : {status::expired, status::undelivered, status::rejected, status::delivered}) {
    auto final_report = at(final_status, "2024-05-01T10:00:00Z");
    auto late_pending = at(status::pending, "2024-06-01T10:00:00Z", "ENROUTE");
    EXPECT_FALSE(wins_over(late_pending, final_report)) << to_string(final_status);
    EXPECT_TRUE(wins_over(final_report, late_pending)) << to_string(final_status);
  }
}

TEST(order, later_event_beats_earlier_in_the_same_class) {
  EXPECT_TRUE(wins_over(at(status::pending, "2024-05-01T10:00:01Z", "ENROUTE"),
                        at(status::pending, "2024-05-01T10:00:00Z", "ACCEPTD")));
  EXPECT_TRUE(wins_over(at(status::undelivered, "2024-05-01T10:00:01Z"), at(status::expired, "2024-05-01T10:00:00Z")));
  EXPECT_TRUE(wins_over(at(status::expired, "2024-05-01T10:00:01Z"), at(status::rejected, "2024-05-01T10:00:00Z")));
  EXPECT_TRUE(wins_over(at(status::delivered, "2024-05-01T10:00:00.000001Z"),
                        at(status::delivered, "2024-05-01T10:00:00Z")));
}

TEST(order, same_class_and_time_falls_back_to_the_fixed_status_order) {
  const char* t = "2024-05-01T10:00:00Z";
  EXPECT_TRUE(wins_over(at(status::rejected, t), at(status::undelivered, t)));
  EXPECT_TRUE(wins_over(at(status::undelivered, t), at(status::expired, t)));
}

TEST(order, raw_status_and_error_code_break_the_last_ties) {
  const char* t = "2024-05-01T10:00:00Z";
  EXPECT_TRUE(wins_over(at(status::undelivered, t, "UNDELIV"), at(status::undelivered, t, "FAILED")));
  auto a = at(status::undelivered, t);
  auto b = a;
  b.error_code = "1";
  EXPECT_TRUE(wins_over(b, a));
  EXPECT_FALSE(wins_over(a, a));
}

TEST(order, the_winner_does_not_depend_on_arrival_order) {
  std::vector<delivery_report> reports{
      at(status::pending, "2024-05-01T10:00:00Z", "ACCEPTD"), at(status::pending, "2024-05-01T10:00:02Z", "ENROUTE"),
      at(status::expired, "2024-05-02T10:00:00Z"),            at(status::delivered, "2024-05-01T10:00:05Z"),
      at(status::undelivered, "2024-05-01T10:00:04Z"),
  };
  std::sort(reports.begin(), reports.end(), [](const auto& x, const auto& y) { return order_key(x) < order_key(y); });
  const auto expected = reports.back();
  EXPECT_EQ(expected.canonical, status::delivered);
  do {
    delivery_report current = reports.front();
    for (const auto& r : reports) {
      if (wins_over(r, current)) current = r;
    }
    ASSERT_EQ(current, expected);
  } while (std::next_permutation(reports.begin(), reports.end(),
                                 [](const auto& x, const auto& y) { return order_key(x) < order_key(y); }));
}

TEST(order, canonical_names_round_trip) {
  for (auto s : {status::pending, status::expired, status::undelivered, status::rejected, status::delivered}) {
    EXPECT_EQ(parse_canonical(to_string(s)), s);
  }
  EXPECT_FALSE(parse_canonical("DELIVERED"));
  EXPECT_FALSE(parse_canonical(""));
}

}  // namespace
}  // namespace dlrd::report
