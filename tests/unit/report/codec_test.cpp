// Record codec: random round trips, and strict rejection of truncated or garbage bytes.
#include <dlrd/report/codec.hpp>

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace dlrd::report {
namespace {

class record_generator {
 public:
  explicit record_generator(std::uint32_t seed) : rng_(seed) {}

  ingest_record next() {
    if (pick(4) == 0) {
      quarantined_payload q;
      q.provider = text();
      q.reason = text();
      q.field = text();
      q.content_type = text();
      q.body = text(300);
      q.received_at = when();
      return q;
    }
    delivery_report r;
    r.message_id = text();
    r.canonical = static_cast<status>(pick(5));
    r.raw_status = text();
    r.event_at = when();
    r.event_time_from_gateway = pick(2) == 1;
    r.received_at = when();
    r.provider = text();
    r.recipient = maybe_text();
    r.sender = maybe_text();
    r.error_code = maybe_text();
    if (pick(2)) r.parts = static_cast<std::int32_t>(rng_());
    r.cost = maybe_text();
    r.carrier_time = maybe_text();
    return r;
  }

 private:
  std::uint32_t pick(std::uint32_t n) { return std::uniform_int_distribution<std::uint32_t>(0, n - 1)(rng_); }

  /// Any bytes, NUL and high bytes included; sometimes long enough for multi-byte lengths.
  std::string text(std::uint32_t max = 40) {
    std::string s(pick(4) == 0 ? 128 + pick(400) : pick(max), '\0');
    for (auto& c : s) c = static_cast<char>(pick(256));
    return s;
  }
  std::optional<std::string> maybe_text() { return pick(2) ? std::optional(text()) : std::nullopt; }

  time_point when() {
    switch (pick(4)) {
      case 0: return time_point{std::chrono::microseconds{std::numeric_limits<std::int64_t>::min()}};
      case 1: return time_point{std::chrono::microseconds{std::numeric_limits<std::int64_t>::max()}};
      case 2: return time_point{std::chrono::microseconds{-static_cast<std::int64_t>(rng_())}};
      default: return time_point{std::chrono::microseconds{static_cast<std::int64_t>(rng_()) * 1'000'000 + pick(1'000'000)}};
    }
  }

  std::mt19937 rng_;
};

TEST(codec, random_records_survive_a_round_trip) {
  record_generator gen(20240501);
  for (int i = 0; i < 5000; ++i) {
    auto rec = gen.next();
    auto bytes = encode(rec);
    auto back = decode(bytes);
    ASSERT_TRUE(back) << "record " << i;
    ASSERT_EQ(*back, rec) << "record " << i;
  }
}

TEST(codec, encode_appends_to_what_is_already_there) {
  delivery_report r;
  r.message_id = "m";
  std::string out = "prefix";
  encode(r, out);
  EXPECT_EQ(out.substr(0, 6), "prefix");
  EXPECT_EQ(out.substr(6), encode(r));
}

TEST(codec, every_truncation_of_a_valid_encoding_fails) {
  record_generator gen(7);
  for (int i = 0; i < 200; ++i) {
    auto bytes = encode(gen.next());
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      ASSERT_FALSE(decode(std::string_view(bytes).substr(0, n))) << "record " << i << " cut at " << n;
    }
  }
}

TEST(codec, trailing_bytes_are_rejected) {
  record_generator gen(8);
  for (int i = 0; i < 200; ++i) {
    auto bytes = encode(gen.next());
    ASSERT_FALSE(decode(bytes + '\0'));
    ASSERT_FALSE(decode(bytes + "garbage"));
  }
}

constexpr std::string_view empty_input = "";
constexpr std::string_view unknown_version = "\x03\x01";
constexpr std::string_view unknown_kind = "\x01\x03";
// version 1, report, empty id, then status byte 5, one past the last status.
constexpr std::string_view status_out_of_range{"\x01\x01\x00\x05", 4};
// version 1, report, id length claims 2^63: must not allocate or read past the end.
constexpr std::string_view huge_length = "\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f";
// a varint that never ends
constexpr std::string_view endless_varint = "\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";

TEST(codec, garbage_headers_and_fields_are_rejected) {
  EXPECT_FALSE(decode(empty_input));
  EXPECT_FALSE(decode(unknown_version));
  EXPECT_FALSE(decode(unknown_kind));
  EXPECT_FALSE(decode(status_out_of_range));
  EXPECT_FALSE(decode(huge_length));
  EXPECT_FALSE(decode(endless_varint));
}

TEST(codec, a_presence_flag_other_than_zero_or_one_is_rejected) {
  delivery_report r;
  r.message_id = "m";
  auto bytes = encode(r);
  // Layout: version, kind, id(2), status, raw(1), event(1), flag, received(1), provider(1), recipient flag...
  const std::size_t recipient_flag = 2 + 2 + 1 + 1 + 1 + 1 + 1 + 1;
  ASSERT_EQ(bytes[recipient_flag], '\0');
  bytes[recipient_flag] = '\x02';
  EXPECT_FALSE(decode(bytes));
  bytes[recipient_flag] = '\0';
  ASSERT_TRUE(decode(bytes));
  const std::size_t gateway_flag = 2 + 2 + 1 + 1 + 1;
  bytes[gateway_flag] = '\x07';
  EXPECT_FALSE(decode(bytes));
}

// A report as the build before carrier times wrote it: version 1, report, id "m", delivered,
// no raw status, times 0, provider "p", every optional absent.
constexpr std::string_view version_1_report{"\x01\x01\x01m\x04\x00\x00\x00\x00\x01p\x00\x00\x00\x00\x00", 16};

TEST(codec, a_report_without_a_carrier_time_keeps_the_version_1_bytes) {
  auto r = decode(version_1_report);
  ASSERT_TRUE(r);
  const auto& report = std::get<delivery_report>(*r);
  EXPECT_EQ(report.message_id, "m");
  EXPECT_EQ(report.provider, "p");
  EXPECT_FALSE(report.carrier_time);
  // Written back byte for byte: a spool without carrier times stays readable by the previous build.
  EXPECT_EQ(encode(*r), version_1_report);
}

TEST(codec, a_carrier_time_is_written_as_version_2_and_read_back) {
  delivery_report r;
  r.message_id = "m";
  r.carrier_time = "2301011200";
  auto bytes = encode(r);
  EXPECT_EQ(bytes[0], '\x02');
  auto back = decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(std::get<delivery_report>(*back).carrier_time, "2301011200");
  // Version 2 changed reports only: a quarantined payload is always version 1.
  quarantined_payload payload;
  payload.provider = "p";
  auto q = encode(payload);
  ASSERT_EQ(q[0], '\x01');
  q[0] = '\x02';
  EXPECT_FALSE(decode(q));
}

TEST(codec, mutated_encodings_never_crash_and_what_decodes_reencodes_the_same) {
  record_generator gen(99);
  std::mt19937 rng(99);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    auto bytes = encode(gen.next());
    for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (auto rec = decode(bytes)) {
      ++decoded;
      ASSERT_EQ(decode(encode(*rec)), rec);
    }
  }
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace dlrd::report
