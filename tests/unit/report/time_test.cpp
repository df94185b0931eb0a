// Timestamp parsing and formatting: zones, fractions, invalid dates, epoch numbers, round trip.
#include <dlrd/report/time.hpp>

#include <gtest/gtest.h>

#include <random>

namespace dlrd::report {
namespace {

using namespace std::chrono;

std::string parsed(std::string_view text) {
  auto t = parse_timestamp(text);
  return t ? format_timestamp(*t) : "<none>";
}

TEST(parse_timestamp, zones_are_applied) {
  EXPECT_EQ(parsed("2024-05-01T12:00:00Z"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00z"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00+02:00"), "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00-05:30"), "2024-05-01T17:30:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00+0200"), "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00+02"), "2024-05-01T10:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01 12:00:00 UTC"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01 12:00:00 GMT"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-01-01T00:30:00+01:00"), "2023-12-31T23:30:00.000000Z");
}

TEST(parse_timestamp, no_zone_means_utc) {
  EXPECT_EQ(parsed("2024-05-01 12:00:00"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00"), "2024-05-01T12:00:00.000000Z");
  EXPECT_EQ(parsed("2024-05-01"), "2024-05-01T00:00:00.000000Z");
}

TEST(parse_timestamp, fractions_keep_microseconds_and_drop_the_rest) {
  EXPECT_EQ(parsed("2024-05-01T12:00:00.5Z"), "2024-05-01T12:00:00.500000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00.123Z"), "2024-05-01T12:00:00.123000Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00.123456Z"), "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00.1234569Z"), "2024-05-01T12:00:00.123456Z");
  EXPECT_EQ(parsed("2024-05-01T12:00:00,25+01:00"), "2024-05-01T11:00:00.250000Z");
}

TEST(parse_timestamp, leap_second_is_the_last_second_of_the_minute) {
  EXPECT_EQ(parsed("2016-12-31T23:59:60Z"), "2016-12-31T23:59:59.000000Z");
}

TEST(parse_timestamp, leap_days_exist_only_in_leap_years) {
  EXPECT_EQ(parsed("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00.000000Z");
  EXPECT_EQ(parsed("2000-02-29T00:00:00Z"), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(parsed("2023-02-29T00:00:00Z"), "<none>");
  EXPECT_EQ(parsed("1900-02-29T00:00:00Z"), "<none>");
}

TEST(parse_timestamp, invalid_dates_and_times_are_rejected) {
  for (std::string_view bad : {"", "2024", "2024-05", "2024-02-30T10:00:00Z", "2024-04-31", "2024-13-01", "2024-00-10",
                               "2024-05-00", "2024-05-01T24:00:00Z", "2024-05-01T12:60:00Z", "2024-05-01T12:00:61Z",
                               "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00+25:00", "2024-05-01T12:00:00+02:60",
                               "2024-05-01T12:00:00 CET", "2024-05-01T12:00:00Zjunk", "2024-05-01X12:00:00",
                               "24-05-01T12:00:00Z", "2024/05/01 12:00:00", "2024-5-1 12:00:00", "2024-05-01T1:00:00",
                               "1714557600", " 2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z\n"}) {
    EXPECT_FALSE(parse_timestamp(bad)) << "accepted '" << bad << "' as " << parsed(bad);
  }
}

TEST(format_timestamp, round_trips_through_parse_at_microsecond_resolution) {
  std::mt19937_64 rng(1);
  // 0001-01-01 .. 9999-12-31, the years four digits can hold.
  const auto lo = sys_days{year{1} / 1 / 1}.time_since_epoch();
  const auto hi = sys_days{year{9999} / 12 / 31}.time_since_epoch();
  std::uniform_int_distribution<std::int64_t> dist(duration_cast<microseconds>(lo).count(),
                                                   duration_cast<microseconds>(hi).count());
  for (int i = 0; i < 10000; ++i) {
    time_point t{microseconds{dist(rng)}};
    auto text = format_timestamp(t);
    ASSERT_EQ(parse_timestamp(text), t) << text;
  }
  EXPECT_EQ(format_timestamp(time_point{}), "1970-01-01T00:00:00.000000Z");
}

TEST(from_epoch_number, seconds_and_milliseconds) {
  const auto expected = *parse_timestamp("2024-05-01T10:00:00Z");
  EXPECT_EQ(from_epoch_number(1714557600), expected);
  EXPECT_EQ(from_epoch_number(1714557600000.0), expected);
  EXPECT_EQ(from_epoch_number(1714557600.25), expected + 250ms);
  EXPECT_EQ(from_epoch_number(0), time_point{});
}

TEST(from_epoch_number, implausible_values_are_rejected) {
  EXPECT_FALSE(from_epoch_number(-1));
  EXPECT_FALSE(from_epoch_number(1e300));
  EXPECT_FALSE(from_epoch_number(std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(from_epoch_number(std::numeric_limits<double>::quiet_NaN()));
}

TEST(now, is_microsecond_aligned_and_current) {
  auto t = now();
  EXPECT_GT(t, *parse_timestamp("2024-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace dlrd::report
