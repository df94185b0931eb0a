// Damaged segments: a torn tail is only an incomplete last record with nothing valid
// after it; any other damage keeps its bytes in a `.corrupt` file, and every intact
// record around it is still replayed, at recovery and when read back at run time.
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/inspect.hpp>

#include "format.hpp"
#include "spool_test_support.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

namespace dlrd::spool::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// Overwrites one byte of a file in place, as bit rot would, without truncating it.
void flip_in_place(const std::string& path, std::size_t offset, unsigned char mask) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ mask);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::vector<std::string> corrupt_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto n = e.path().filename().string();
    if (n.find(".corrupt") != std::string::npos) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Errors are expected here; DLRD_TEST_LOG=1 shows them when a seed needs a closer look.
struct quiet_log {
  quiet_log() {
    if (!std::getenv("DLRD_TEST_LOG")) spdlog::set_level(spdlog::level::off);
  }
  ~quiet_log() { spdlog::set_level(spdlog::level::info); }
};

std::vector<std::uint64_t> seqs_of(const std::vector<record>& rs) {
  std::vector<std::uint64_t> out;
  for (const auto& r : rs) out.push_back(r.seq);
  return out;
}

const std::vector<std::string> three = {"first acked record", "second acked record", "third acked record"};

TEST(spool_corruption, a_flipped_bit_in_the_first_of_three_acked_records_keeps_the_other_two_and_the_damaged_bytes) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (const auto& p : three) ASSERT_EQ(append_wait(*j, {p}), append_result::durable);
  j.reset();
  auto segs = segment_files(dir.path());
  ASSERT_EQ(segs.size(), 1u);
  auto original = read_file(dir / segs[0]);
  auto damaged = original;
  damaged[detail::header_bytes + 3] ^= 0x10;  // a payload byte of seq 1
  write_file(dir / segs[0], damaged);

  j = open_file_journal(config, report);
  auto got = take_all(*j, false, 10ms);
  EXPECT_EQ(seqs_of(got), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(payloads_of(got), (std::vector<std::string>{three[1], three[2]}));
  EXPECT_EQ(report.torn_tails_truncated, 0u);
  EXPECT_EQ(report.corrupt_regions, 1u);
  EXPECT_EQ(report.records, 2u);
  EXPECT_EQ(report.records_to_replay, 2u);
  EXPECT_EQ(report.bytes_quarantined, detail::header_bytes + three[0].size());
  EXPECT_FALSE(report.problems.empty());
  // The damaged bytes are kept beside the segment.
  auto kept = corrupt_files(dir.path());
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_NE(read_file(dir / kept[0]).find(damaged.substr(0, detail::header_bytes + three[0].size())),
            std::string::npos);
  // New records continue after the highest seq, and a second start finds nothing new.
  ASSERT_EQ(append_wait(*j, {"next"}), append_result::durable);
  EXPECT_EQ(take_all(*j, false, 10ms).at(0).seq, 4u);
  j.reset();
  j = open_file_journal(config, report);
  EXPECT_EQ(report.corrupt_regions, 0u);
  EXPECT_EQ(seqs_of(take_all(*j, false, 10ms)), (std::vector<std::uint64_t>{2, 3, 4}));
}

TEST(spool_corruption, garbage_between_records_of_a_middle_segment_is_set_aside_and_every_record_after_it_replays) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  config.segment_bytes = 400;
  std::vector<std::string> payloads;
  for (int i = 0; i < 12; ++i) payloads.push_back("payload-" + std::to_string(i) + std::string(70, 'p'));
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (const auto& p : payloads) ASSERT_EQ(append_wait(*j, {p}), append_result::durable);
  j.reset();
  auto segs = segment_files(dir.path());
  ASSERT_EQ(segs.size(), 3u);  // four records per segment
  ASSERT_EQ(segs[1], "00000000000000000005.seg");
  auto middle = read_file(dir / segs[1]);
  std::size_t record = detail::header_bytes + payloads[0].size();
  // Seq 5's header and seq 6's first payload bytes become garbage; 7 and 8 are intact.
  for (std::size_t i = 10; i < record + 30; ++i) middle[i] = static_cast<char>(0xa5 ^ i);
  write_file(dir / segs[1], middle);

  j = open_file_journal(config, report);
  auto got = take_all(*j, false, 10ms);
  EXPECT_EQ(seqs_of(got), (std::vector<std::uint64_t>{1, 2, 3, 4, 7, 8, 9, 10, 11, 12}));
  for (const auto& r : got) EXPECT_EQ(r.payload, payloads[r.seq - 1]);
  EXPECT_EQ(report.corrupt_regions, 1u);
  EXPECT_EQ(report.torn_tails_truncated, 0u);
  EXPECT_EQ(report.bytes_quarantined, 2 * record);
  EXPECT_EQ(corrupt_files(dir.path()).size(), 1u);
  ASSERT_EQ(append_wait(*j, {"next"}), append_result::durable);
  EXPECT_EQ(take_all(*j, false, 10ms).at(0).seq, 13u);
}

TEST(spool_corruption, a_record_damaged_under_a_running_journal_is_skipped_alone_and_the_checkpoint_never_covers_it) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  config.segment_bytes = 200;
  config.cache_bytes = 0;  // every record is read back from its segment
  std::vector<std::string> payloads;
  for (int i = 0; i < 7; ++i) payloads.push_back("run-" + std::to_string(i) + std::string(34, 'r'));
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (const auto& p : payloads) ASSERT_EQ(append_wait(*j, {p}), append_result::durable);
  auto segs = segment_files(dir.path());
  ASSERT_EQ(segs.size(), 3u);  // {1,2,3} {4,5,6} {7}
  flip_in_place(dir / segs[0], detail::header_bytes + 2, 0x01);  // seq 1's payload

  auto got = take_all(*j, true, 20ms);
  EXPECT_EQ(seqs_of(got), (std::vector<std::uint64_t>{2, 3, 4, 5, 6, 7}));
  for (const auto& r : got) EXPECT_EQ(r.payload, payloads[r.seq - 1]);
  EXPECT_EQ(j->snapshot().corrupt_regions, 1u);
  // Seq 1 never reached a writer: its segment stays and the checkpoint stays below it.
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(std::filesystem::exists(dir / segs[0]));
  EXPECT_EQ(detail::decode_checkpoint(read_file(dir / "checkpoint")).value_or(0), 0u);
  j.reset();

  // The next start sets the damaged bytes aside and replays the rest again (the writers'
  // upsert makes the second delivery harmless).
  j = open_file_journal(config, report);
  EXPECT_EQ(report.corrupt_regions, 1u);
  EXPECT_EQ(corrupt_files(dir.path()).size(), 1u);
  EXPECT_EQ(seqs_of(take_all(*j, false, 10ms)), (std::vector<std::uint64_t>{2, 3, 4, 5, 6, 7}));
}

TEST(spool_corruption, inspect_reports_a_corrupt_region_and_counts_the_records_after_it) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (const auto& p : three) ASSERT_EQ(append_wait(*j, {p}), append_result::durable);
  j.reset();
  auto segs = segment_files(dir.path());
  auto bytes = read_file(dir / segs[0]);
  bytes[detail::header_bytes + 1] ^= 0x04;
  write_file(dir / segs[0], bytes);

  auto r = inspect_spool(dir.path());
  ASSERT_EQ(r.segments.size(), 1u);
  EXPECT_EQ(r.segments[0].records, 2u);
  EXPECT_EQ(r.segments[0].first_seq, 2u);
  EXPECT_EQ(r.segments[0].last_seq, 3u);
  EXPECT_EQ(r.unsent_records, 2u);
  EXPECT_EQ(r.corrupt_segments, 1u);
  EXPECT_NE(r.segments[0].problem.find("checksum"), std::string::npos) << r.segments[0].problem;
  EXPECT_NE(r.segments[0].problem.find("offset 0"), std::string::npos) << r.segments[0].problem;
  EXPECT_EQ(read_file(dir / segs[0]), bytes);  // inspect changes nothing
}

// ---- the property: any one corruption loses only the records whose bytes it touched.

struct laid_record {
  std::string segment;  // path
  std::size_t offset = 0;
  std::size_t size = 0;
  std::uint64_t seq = 0;
  std::string payload;
};

std::vector<laid_record> lay_out(sim_fs& fs, const std::string& dir) {
  std::vector<laid_record> out;
  auto names = fs.names();
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto first = detail::parse_segment_name(n);
    if (!first) continue;
    auto path = dir + "/" + n;
    auto bytes = fs.content(path);
    std::size_t offset = 0;
    for (std::uint64_t seq = *first; offset < bytes.size(); ++seq) {
      detail::decoded_record r;
      if (detail::decode_record(std::string_view(bytes).substr(offset), seq, r) != detail::problem_kind::none) {
        ADD_FAILURE() << "a clean segment does not decode: " << n;
        return out;
      }
      out.push_back(laid_record{path, offset, r.size, r.seq, std::string(r.payload)});
      offset += r.size;
    }
  }
  return out;
}

std::string random_payload(std::mt19937_64& rng, std::uint64_t id) {
  std::string p = "p" + std::to_string(id) + ":";
  std::size_t size = rng() % 4 == 0 ? rng() % 8 : rng() % 400;
  while (p.size() < size) {
    // Now and then the payload carries the record magic, as an attacker's text could.
    if (rng() % 16 == 0) p += "DLR1";
    else p += static_cast<char>(rng());
  }
  return p;
}

enum class damage : int { bit_flip, torn_write, zeroed_page, duplicated_block_over, duplicated_block_inserted };

void corruption_round(std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto fs = std::make_shared<sim_fs>();
  auto config = test_config("/sim/spool");
  config.segment_bytes = 512 + rng() % 12000;
  config.cache_bytes = 0;
  recovery_report report;
  std::map<std::uint64_t, std::string> acked;  // seq -> payload
  {
    auto j = open_file_journal(config, report, fs);
    int units = 1 + static_cast<int>(rng() % 40);
    std::uint64_t id = 0;
    for (int u = 0; u < units; ++u) {
      std::vector<std::string> unit;
      int n = 1 + static_cast<int>(rng() % 3);
      for (int i = 0; i < n; ++i) unit.push_back(random_payload(rng, id++));
      ASSERT_EQ(append_wait(*j, unit), append_result::durable);
    }
    // Sometimes a writer commits a prefix, so the checkpoint matters too.
    if (rng() % 3 == 0) {
      auto batch = j->take(rng() % (id + 1) + 1, 0ms, std::chrono::steady_clock::now());
      std::vector<std::uint64_t> seqs;
      for (const auto& r : batch) seqs.push_back(r.seq);
      j->commit(seqs);
    }
  }
  auto checkpoint = detail::decode_checkpoint(fs->content("/sim/spool/checkpoint")).value_or(0);
  auto laid = lay_out(*fs, "/sim/spool");
  if (laid.empty()) return;
  for (const auto& r : laid) acked[r.seq] = r.payload;

  // One corruption of one segment.
  const auto& victim = laid[rng() % laid.size()].segment;
  auto before = fs->content(victim);
  auto after = before;
  auto kind = static_cast<damage>(rng() % 5);
  std::size_t inserted_at = 0, inserted = 0;
  switch (kind) {
    case damage::bit_flip: {
      auto at = rng() % after.size();
      after[at] = static_cast<char>(after[at] ^ (1 << (rng() % 8)));
      break;
    }
    case damage::torn_write:
      after.resize(rng() % after.size());
      break;
    case damage::zeroed_page: {
      std::size_t page = (rng() % (after.size() / 4096 + 1)) * 4096;
      for (std::size_t i = page; i < std::min(after.size(), page + 4096); ++i) after[i] = '\0';
      break;
    }
    case damage::duplicated_block_over: {
      auto len = 1 + rng() % std::min<std::size_t>(after.size(), 1024);
      auto from = rng() % (after.size() - len + 1);
      auto to = rng() % (after.size() - len + 1);
      after.replace(to, len, before.substr(from, len));
      break;
    }
    case damage::duplicated_block_inserted: {
      auto len = 1 + rng() % std::min<std::size_t>(after.size(), 1024);
      auto from = rng() % (after.size() - len + 1);
      inserted_at = rng() % (after.size() + 1);
      inserted = len;
      after.insert(inserted_at, before.substr(from, len));
      break;
    }
  }
  SCOPED_TRACE("damage " + std::to_string(static_cast<int>(kind)) + " to " + victim);
  fs->set_content(victim, after);

  // A record is intact when its bytes are where they were (or shifted whole by an insertion).
  std::set<std::uint64_t> intact;
  for (const auto& r : laid) {
    if (r.seq <= checkpoint) continue;
    if (r.segment != victim) {
      intact.insert(r.seq);
      continue;
    }
    std::size_t at = r.offset;
    if (kind == damage::duplicated_block_inserted) {
      if (r.offset < inserted_at && r.offset + r.size > inserted_at) continue;
      if (r.offset >= inserted_at) at += inserted;
    }
    if (at + r.size <= after.size() && after.compare(at, r.size, before, r.offset, r.size) == 0) intact.insert(r.seq);
  }

  std::unique_ptr<journal> j;
  ASSERT_NO_THROW(j = open_file_journal(config, report, fs));
  auto got = take_all(*j, false, 0ms);
  std::set<std::uint64_t> replayed;
  for (const auto& r : got) {
    EXPECT_TRUE(replayed.insert(r.seq).second) << "seq " << r.seq << " replayed twice";
    auto it = acked.find(r.seq);
    ASSERT_NE(it, acked.end()) << "seq " << r.seq << " was never appended";
    EXPECT_EQ(r.payload, it->second) << "seq " << r.seq << " replayed with other bytes";
  }
  EXPECT_EQ(got.size(), report.records_to_replay);
  for (auto seq : intact) EXPECT_TRUE(replayed.contains(seq)) << "intact acked record " << seq << " lost";
  // Whatever was damaged beyond a plain truncation is kept somewhere.
  bool damaged_acked = std::any_of(laid.begin(), laid.end(), [&](const laid_record& r) {
    return r.seq > checkpoint && !intact.contains(r.seq);
  });
  if (damaged_acked && kind != damage::torn_write) {
    auto names = fs->names();
    bool kept = std::any_of(names.begin(), names.end(),
                            [](const std::string& n) { return n.find(".corrupt") != std::string::npos; });
    EXPECT_TRUE(kept || report.torn_tails_truncated > 0) << "damaged bytes destroyed without a copy";
  }
  ASSERT_EQ(append_wait(*j, {"after"}), append_result::durable);
  auto next = take_all(*j, false, 0ms);
  ASSERT_EQ(next.size(), 1u);
  // Seqs only lost to damage may be given again; nothing replayed or committed is.
  EXPECT_GT(next[0].seq, std::max(checkpoint, replayed.empty() ? 0 : *replayed.rbegin()));
}

TEST(spool_corruption, any_one_corruption_of_a_segment_loses_only_the_records_whose_bytes_it_touched) {
  quiet_log quiet;
  std::uint64_t seeds = 2000;
  if (const char* env = std::getenv("DLRD_CORRUPTION_SEEDS")) seeds = std::stoull(env);
  std::uint64_t first = 1;
  if (const char* env = std::getenv("DLRD_CORRUPTION_FIRST_SEED")) first = std::stoull(env);
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    corruption_round(seed);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace dlrd::spool::test
