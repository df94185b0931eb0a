// Recovery: torn tails, corrupt segments, and the power-loss model (every acked unit
// survives a crash at any instant).
#include <dlrd/spool/file_journal.hpp>

#include "spool_test_support.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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

/// Errors are expected in these tests; keep the output readable.
struct quiet_log {
  quiet_log() { spdlog::set_level(spdlog::level::off); }
  ~quiet_log() { spdlog::set_level(spdlog::level::info); }
};

const std::vector<std::string> three = {"first record", "second record", "third record, the one that tears"};

/// Writes three one-record units with a real journal and returns the segment's bytes.
std::string three_record_segment(std::string& name) {
  temp_dir dir;
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  for (const auto& p : three) EXPECT_EQ(append_wait(*j, {p}), append_result::durable);
  j.reset();
  auto segs = segment_files(dir.path());
  EXPECT_EQ(segs.size(), 1u);
  name = segs.at(0);
  return read_file(dir / name);
}

void expect_recovers_first_two(const std::string& name, const std::string& bytes, std::size_t last_offset,
                               const std::string& what) {
  SCOPED_TRACE(what);
  temp_dir dir;
  write_file(dir / name, bytes);
  recovery_report report;
  auto j = open_file_journal(test_config(dir.path()), report);
  EXPECT_EQ(report.torn_tails_truncated, bytes.size() > last_offset ? 1u : 0u);
  EXPECT_EQ(report.corrupt_segments_quarantined, 0u);
  EXPECT_EQ(report.records, 2u);
  EXPECT_EQ(std::filesystem::file_size(dir / name), last_offset);
  auto got = take_all(*j, false, 10ms);
  EXPECT_EQ(payloads_of(got), (std::vector<std::string>{three[0], three[1]}));
  EXPECT_EQ(append_wait(*j, {"after"}), append_result::durable);
  auto next = take_all(*j, false, 10ms);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].seq, 3u);  // the torn record was never acked: its seq is free again
}

TEST(spool_recovery, a_last_record_torn_at_any_byte_is_truncated_and_only_it_is_lost) {
  quiet_log quiet;
  std::string name;
  auto bytes = three_record_segment(name);
  std::size_t last_offset = bytes.size() - (20 + three[2].size());
  for (std::size_t cut = last_offset; cut < bytes.size(); ++cut) {
    expect_recovers_first_two(name, bytes.substr(0, cut), last_offset, "cut at " + std::to_string(cut));
  }
}

TEST(spool_recovery, any_bit_flipped_in_the_last_record_header_loses_only_that_record) {
  quiet_log quiet;
  std::string name;
  auto bytes = three_record_segment(name);
  std::size_t last_offset = bytes.size() - (20 + three[2].size());
  for (std::size_t bit = 0; bit < 20 * 8; ++bit) {
    auto flipped = bytes;
    flipped[last_offset + bit / 8] = static_cast<char>(flipped[last_offset + bit / 8] ^ (1 << (bit % 8)));
    expect_recovers_first_two(name, flipped, last_offset, "bit " + std::to_string(bit));
  }
}

TEST(spool_recovery, the_active_segment_is_zeroed_ahead_of_its_records_and_cut_back_when_sealed) {
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  ASSERT_EQ(append_wait(*j, {three[0]}), append_result::durable);
  auto segs = segment_files(dir.path());
  ASSERT_EQ(segs.size(), 1u);
  // A group's fdatasync then overwrites bytes already written: no size change to journal.
  auto bytes = read_file(dir / segs[0]);
  std::size_t record = 20 + three[0].size();
  EXPECT_EQ(bytes.size(), config.segment_bytes);
  EXPECT_EQ(bytes.find_first_not_of('\0', record), std::string::npos);
  j.reset();
  EXPECT_EQ(std::filesystem::file_size(dir / segs[0]), record);
}

TEST(spool_recovery, a_zeroed_segment_killed_mid_write_loses_only_the_unsynced_record_and_sets_nothing_aside) {
  quiet_log quiet;
  std::string name;
  auto bytes = three_record_segment(name);
  std::size_t last_offset = bytes.size() - (20 + three[2].size());
  const std::size_t zeroed = 4096;  // test_config's segment_bytes: the whole segment is zeroed ahead
  // Cut at the record boundary, in the header, in the payload, and after the whole record.
  for (std::size_t cut : {last_offset, last_offset + 1, last_offset + 12, last_offset + 19, last_offset + 20,
                          last_offset + 27, bytes.size() - 1, bytes.size()}) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    temp_dir dir;
    auto written = bytes.substr(0, cut);
    write_file(dir / name, written + std::string(zeroed - written.size(), '\0'));
    recovery_report report;
    auto j = open_file_journal(test_config(dir.path()), report);
    bool whole = cut == bytes.size();
    EXPECT_EQ(report.torn_tails_truncated, whole || cut == last_offset ? 0u : 1u);
    EXPECT_EQ(report.corrupt_segments_quarantined, 0u);
    EXPECT_EQ(report.records, whole ? 3u : 2u);
    EXPECT_EQ(std::filesystem::file_size(dir / name), whole ? bytes.size() : last_offset);
    EXPECT_EQ(segment_files(dir.path()).size(), 1u);
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
      EXPECT_EQ(e.path().string().find(".corrupt"), std::string::npos) << e.path();
    }
    auto got = take_all(*j, false, 10ms);
    EXPECT_EQ(got.size(), whole ? 3u : 2u);
    EXPECT_EQ(append_wait(*j, {"after"}), append_result::durable);
    EXPECT_EQ(take_all(*j, false, 10ms).at(0).seq, whole ? 4u : 3u);
  }
}

TEST(spool_recovery, a_corrupt_record_in_a_middle_segment_is_quarantined_and_later_segments_still_replay) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  config.segment_bytes = 256;
  std::vector<std::string> payloads;
  for (int i = 0; i < 9; ++i) payloads.push_back("payload-" + std::to_string(i) + std::string(90, 'p'));
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (const auto& p : payloads) ASSERT_EQ(append_wait(*j, {p}), append_result::durable);
  j.reset();
  auto segs = segment_files(dir.path());
  ASSERT_EQ(segs.size(), 5u);  // two records per segment
  ASSERT_EQ(segs[1], "00000000000000000003.seg");
  auto middle = read_file(dir / segs[1]);
  std::size_t record = 20 + payloads[0].size();
  middle[record + 25] ^= 0x40;  // a payload byte of seq 4
  write_file(dir / segs[1], middle);

  j = open_file_journal(config, report);
  EXPECT_EQ(report.corrupt_segments_quarantined, 1u);
  EXPECT_EQ(report.torn_tails_truncated, 0u);
  EXPECT_EQ(report.bytes_quarantined, record);
  EXPECT_EQ(report.records, 8u);
  EXPECT_FALSE(report.problems.empty());
  EXPECT_EQ(read_file(dir / (segs[1] + ".corrupt")), middle.substr(record));
  EXPECT_EQ(std::filesystem::file_size(dir / segs[1]), record);
  auto got = take_all(*j, false);
  std::vector<std::uint64_t> seqs;
  for (const auto& r : got) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 3, 5, 6, 7, 8, 9}));
  for (const auto& r : got) EXPECT_EQ(r.payload, payloads[r.seq - 1]);
  ASSERT_EQ(append_wait(*j, {"next"}), append_result::durable);
  EXPECT_EQ(take_all(*j, false).at(0).seq, 10u);
}

/// A spool on a simulated file system whose truncates all failed while five ~100-byte units
/// went through a journal with 256-byte segments (two records each): every sealed segment
/// kept the zeros the journal wrote ahead of its records.
struct segments_sealed_without_their_cut {
  quiet_log quiet;
  sim_fs fs;
  spool_config config = test_config("/sim/spool");
  std::vector<std::string> payloads;
  std::vector<std::string> segs;  ///< segment file names, in seq order

  segments_sealed_without_their_cut() {
    config.segment_bytes = 256;
    for (int i = 0; i < 5; ++i) payloads.push_back("payload-" + std::to_string(i) + std::string(90, 'p'));
    fs.fail_truncates(true);
    recovery_report report;
    auto j = open(report);
    for (const auto& p : payloads) EXPECT_EQ(append_wait(*j, {p}), append_result::durable);
    j.reset();
    fs.fail_truncates(false);
    for (const auto& n : fs.names()) {
      if (n.ends_with(".seg")) segs.push_back(n);
    }
    std::sort(segs.begin(), segs.end());
    EXPECT_EQ(segs.size(), 3u);
    for (const auto& n : segs) EXPECT_EQ(fs.content(path(n)).size(), 4096u) << n;
  }
  std::unique_ptr<journal> open(recovery_report& report) {
    return open_file_journal(config, report, std::shared_ptr<file_ops>(&fs, [](file_ops*) {}));
  }
  std::string path(const std::string& name) const { return config.dir + "/" + name; }
};

TEST(spool_recovery, zeros_a_failed_cut_left_on_a_sealed_segment_are_its_clean_end_when_the_next_follows_on) {
  segments_sealed_without_their_cut spool;
  recovery_report report;
  auto j = spool.open(report);
  EXPECT_EQ(report.corrupt_segments_quarantined, 0u) << testing::PrintToString(report.problems);
  EXPECT_EQ(report.corrupt_regions, 0u);
  EXPECT_EQ(report.bytes_quarantined, 0u);
  EXPECT_EQ(report.records, 5u);
  std::size_t record = 20 + spool.payloads[0].size();
  EXPECT_EQ(spool.fs.content(spool.path(spool.segs[0])).size(), 2 * record);  // the zeros are cut now
  for (const auto& n : spool.fs.names()) EXPECT_EQ(n.find(".corrupt"), std::string::npos) << n;
  auto got = take_all(*j, false);
  EXPECT_EQ(payloads_of(got), spool.payloads);
  ASSERT_EQ(append_wait(*j, {"next"}), append_result::durable);
  EXPECT_EQ(take_all(*j, false).at(0).seq, 6u);
}

TEST(spool_recovery, zeros_on_a_sealed_segment_stay_damage_when_a_gap_follows_them) {
  segments_sealed_without_their_cut spool;
  // The middle segment (seqs 3 and 4) goes: zeros on the first one might now hide records.
  ASSERT_EQ(spool.segs[1], "00000000000000000003.seg");
  ASSERT_EQ(spool.fs.unlink(spool.path(spool.segs[1])), std::error_code{});

  recovery_report report;
  auto j = spool.open(report);
  EXPECT_EQ(report.corrupt_segments_quarantined, 1u) << testing::PrintToString(report.problems);
  EXPECT_EQ(report.records, 3u);
  auto got = take_all(*j, false);
  std::vector<std::uint64_t> seqs;
  for (const auto& r : got) seqs.push_back(r.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{1, 2, 5}));
}

TEST(spool_recovery, an_unreadable_checkpoint_replays_everything) {
  quiet_log quiet;
  temp_dir dir;
  auto config = test_config(dir.path());
  recovery_report report;
  auto j = open_file_journal(config, report);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(append_wait(*j, {"r" + std::to_string(i)}), append_result::durable);
  take_all(*j, false);
  j->commit({1, 2});
  j.reset();
  write_file(dir / "checkpoint", "garbage");
  j = open_file_journal(config, report);
  EXPECT_TRUE(report.checkpoint_unreadable);
  EXPECT_EQ(report.checkpoint, 0u);
  EXPECT_EQ(take_all(*j, false).size(), 4u);
}

std::string unit_payload(int unit, int index) {
  std::string p = "u" + std::to_string(unit) + "-" + std::to_string(index) + ":";
  std::size_t size = 10 + static_cast<std::size_t>((unit * 37 + index * 11) % 300);
  while (p.size() < size) p += static_cast<char>('A' + (p.size() + static_cast<std::size_t>(unit)) % 26);
  return p;
}

/// One seed of the power-loss model: a random workload with a writer taking and
/// committing, a crash at a random mutating call, then recovery over what survived.
void power_loss_round(std::uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto fs = std::make_shared<sim_fs>();
  auto config = test_config("/sim/spool");
  config.segment_bytes = 256 + rng() % 2048;
  config.cache_bytes = rng() % 2 ? (64u << 20) : 512;
  config.checkpoint_interval = std::chrono::milliseconds{rng() % 2 ? 1 + rng() % 3 : 50};
  // Half the time no writer runs: acked records then live only in the spool.
  bool writer_runs = rng() % 2 == 0;
  recovery_report report;

  // Start from a spool that already went through a crash half the time.
  int unit_base = 0;
  std::set<int> acked;
  std::map<int, int> sizes;
  std::set<std::string> database;
  std::mutex m;
  for (int life = 0; life < 2; ++life) {
    auto j = open_file_journal(config, report, fs);
    fs->freeze_at(1 + rng() % 300);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      while (writer_runs && !stop.load()) {
        auto batch = j->take(1 + rng() % 16, 0ms, std::chrono::steady_clock::now() + 2ms);
        std::vector<std::uint64_t> seqs;
        {
          std::lock_guard l(m);
          for (const auto& r : batch) {
            database.insert(r.payload);
            seqs.push_back(r.seq);
          }
        }
        j->commit(seqs);
      }
    });
    std::mt19937_64 local(seed * 7 + static_cast<std::uint64_t>(life));
    int units = 40 + static_cast<int>(local() % 40);
    for (int u = 0; u < units;) {
      int burst = 1 + static_cast<int>(local() % 5);
      auto left = std::make_shared<std::atomic<int>>(0);
      for (int b = 0; b < burst && u < units; ++b, ++u) {
        int id = unit_base + u;
        int n = 1 + static_cast<int>(local() % 3);
        std::vector<std::string> payloads;
        for (int i = 0; i < n; ++i) payloads.push_back(unit_payload(id, i));
        {
          std::lock_guard l(m);
          sizes[id] = n;
        }
        left->fetch_add(1);
        j->append(std::move(payloads), [&, id, left](append_result r) {
          if (r == append_result::durable) {
            std::lock_guard l(m);
            acked.insert(id);
          }
          left->fetch_sub(1);
        });
      }
      while (left->load() > 0) std::this_thread::yield();
    }
    unit_base += units;
    stop = true;
    writer.join();
    j.reset();
    fs->crash(rng);
  }

  std::unique_ptr<journal> j;
  ASSERT_NO_THROW(j = open_file_journal(config, report, fs));
  std::set<std::string> replayed;
  for (auto& r : take_all(*j, false, 20ms)) {
    // Whatever comes back is intact: it is one of the payloads that was appended.
    auto dash = r.payload.find('-');
    auto colon = r.payload.find(':');
    ASSERT_TRUE(r.payload.size() > 1 && dash != std::string::npos && colon != std::string::npos) << r.payload;
    EXPECT_EQ(r.payload, unit_payload(std::stoi(r.payload.substr(1, dash - 1)),
                                      std::stoi(r.payload.substr(dash + 1, colon - dash - 1))));
    replayed.insert(r.payload);
  }
  for (int id : acked) {
    for (int i = 0; i < sizes.at(id); ++i) {
      auto p = unit_payload(id, i);
      EXPECT_TRUE(database.contains(p) || replayed.contains(p)) << "acked unit " << id << " lost record " << i;
    }
  }
  EXPECT_EQ(append_wait(*j, {"after recovery"}), append_result::durable);
}

TEST(spool_recovery, every_acked_unit_survives_a_power_loss_at_any_instant) {
  quiet_log quiet;
  std::uint64_t seeds = 300;
  if (const char* env = std::getenv("DLRD_SPOOL_SEEDS")) seeds = std::stoull(env);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    power_loss_round(seed);
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace dlrd::spool::test
