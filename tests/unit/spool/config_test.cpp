// The `spool` config section and the on-disk checksum.
#include <dlrd/spool/config.hpp>

#include "format.hpp"

#include <gtest/gtest.h>

namespace dlrd::spool {
namespace {

spool_config parse_yaml(const std::string& text) {
  spool_config c;
  config::load_string(text, "test.yaml", [&](config::section& root) {
    if (auto s = root.child("spool")) {
      parse(*s, c);
      s->finish();
    }
  });
  return c;
}

TEST(spool_config, defaults_are_a_durable_file_spool) {
  auto c = parse_yaml("spool: {}\n");
  EXPECT_EQ(c.kind, "file");
  EXPECT_EQ(c.dir, "/var/lib/dlrd/spool");
  EXPECT_EQ(c.segment_bytes, 64u << 20);
  EXPECT_EQ(c.max_bytes, std::size_t{1} << 30);
  EXPECT_TRUE(c.fsync);
  EXPECT_EQ(c.memory_max_records, 1'000'000u);
  EXPECT_EQ(c.checkpoint_interval, std::chrono::milliseconds{200});
}

TEST(spool_config, every_key_is_read) {
  auto c = parse_yaml(
      "spool:\n  kind: memory\n  dir: /tmp/x\n  segment_bytes: 1MiB\n  max_bytes: 8MiB\n  fsync: never\n"
      "  memory_max_records: 500\n  checkpoint_interval: 50ms\n");
  EXPECT_EQ(c.kind, "memory");
  EXPECT_EQ(c.dir, "/tmp/x");
  EXPECT_EQ(c.segment_bytes, 1u << 20);
  EXPECT_EQ(c.max_bytes, 8u << 20);
  EXPECT_FALSE(c.fsync);
  EXPECT_EQ(c.memory_max_records, 500u);
  EXPECT_EQ(c.checkpoint_interval, std::chrono::milliseconds{50});
}

TEST(spool_config, bad_values_are_errors_that_name_the_key) {
  for (const char* text : {"spool:\n  segment_bytes: 1KiB\n", "spool:\n  fsync: sometimes\n",
                           "spool:\n  kind: disk\n", "spool:\n  segment_bytes: 8MiB\n  max_bytes: 1MiB\n",
                           "spool:\n  checkpoint: 5\n"}) {
    try {
      parse_yaml(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const config::config_error& e) {
      EXPECT_NE(std::string(e.what()).find("spool."), std::string::npos) << e.what();
    }
  }
}

TEST(spool_config, memory_kind_opens_a_memory_journal_with_an_empty_report) {
  spool_config c;
  c.kind = "memory";
  c.dir = "/nonexistent/never-created";
  recovery_report report;
  report.records = 7;
  auto j = open_journal(c, report);
  ASSERT_TRUE(j);
  EXPECT_EQ(report.records, 0u);
}

TEST(spool_format, crc32c_matches_the_standard_check_value) {
  const char* check = "123456789";
  EXPECT_EQ(detail::crc32c(0, check, 9), 0xE3069283u);
  // Incremental computation gives the same value.
  EXPECT_EQ(detail::crc32c(detail::crc32c(0, check, 4), check + 4, 5), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(detail::crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);
}

TEST(spool_format, segment_names_are_twenty_digit_first_seqs) {
  EXPECT_EQ(detail::segment_name(42), "00000000000000000042.seg");
  EXPECT_EQ(detail::parse_segment_name("00000000000000000042.seg"), 42u);
  EXPECT_FALSE(detail::parse_segment_name("00000000000000000042.seg.corrupt"));
  EXPECT_FALSE(detail::parse_segment_name("0000000000000000004x.seg"));
  EXPECT_FALSE(detail::parse_segment_name("checkpoint"));
}

}  // namespace
}  // namespace dlrd::spool
