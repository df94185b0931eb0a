// Fuzzes spool recovery over real segment files: a real journal writes acked records,
// the input picks up to four corruptions (bit flips, zeroed pages, duplicated blocks,
// garbage, a torn end) of its segments, and recovery must keep every intact record.
#include <dlrd/spool/config.hpp>
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/inspect.hpp>

#include "format.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

const std::string& spool_dir() {
  static const std::string dir = [] {
    spdlog::set_level(spdlog::level::off);
    std::string tmpl = (fs::temp_directory_path() / "dlrd-fuzz-recovery-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  return dir;
}

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

void fail(const char* what, std::uint64_t seq) {
  std::fprintf(stderr, "spool recovery invariant broken: %s (seq %llu)\n", what, static_cast<unsigned long long>(seq));
  std::abort();
}

struct laid_record {
  std::string segment;
  std::size_t offset = 0;
  std::size_t size = 0;
  std::uint64_t seq = 0;
  std::string payload;
};

std::vector<std::string> segments(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (dlrd::spool::detail::parse_segment_name(e.path().filename().string())) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

dlrd::spool::append_result append_wait(dlrd::spool::journal& j, std::vector<std::string> unit) {
  std::promise<dlrd::spool::append_result> done;
  auto f = done.get_future();
  j.append(std::move(unit), [&done](dlrd::spool::append_result r) { done.set_value(r); });
  return f.get();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace spool = dlrd::spool;
  namespace detail = dlrd::spool::detail;
  FuzzedDataProvider in(data, size);
  const auto& dir = spool_dir();
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove(e.path(), ec);

  spool::spool_config config;
  config.dir = dir;
  config.fsync = false;  // fuzzing speed; the bytes on disk are the same
  config.segment_bytes = in.ConsumeIntegralInRange<std::size_t>(256, 16384);
  config.cache_bytes = 0;
  // Garbage and payload bytes come from a generator the input seeds, not from the input
  // itself: a fuzzer could otherwise forge records with valid checksums, which are valid.
  std::mt19937_64 rng(in.ConsumeIntegral<std::uint64_t>());
  {
    spool::recovery_report report;
    auto j = spool::open_file_journal(config, report);
    int units = in.ConsumeIntegralInRange<int>(1, 40);
    for (int u = 0; u < units; ++u) {
      std::vector<std::string> unit;
      int n = in.ConsumeIntegralInRange<int>(1, 3);
      for (int i = 0; i < n; ++i) {
        std::string p(in.ConsumeIntegralInRange<std::size_t>(0, 600), '\0');
        for (auto& c : p) c = rng() % 32 == 0 ? 'D' : static_cast<char>(rng());
        unit.push_back(std::move(p));
      }
      if (append_wait(*j, std::move(unit)) != spool::append_result::durable) std::abort();
    }
  }
  std::vector<laid_record> laid;
  std::map<std::string, std::string> before;
  for (const auto& path : segments(dir)) {
    auto bytes = read_file(path);
    before[path] = bytes;
    std::size_t offset = 0;
    while (offset < bytes.size()) {
      detail::decoded_record r;
      if (detail::decode_frame(std::string_view(bytes).substr(offset), r) != detail::problem_kind::none) std::abort();
      laid.push_back(laid_record{path, offset, r.size, r.seq, std::string(r.payload)});
      offset += r.size;
    }
  }
  if (laid.empty()) return 0;
  auto after = before;

  // Length-preserving damage, then perhaps a torn end.
  int damages = in.ConsumeIntegralInRange<int>(1, 4);
  for (int d = 0; d < damages; ++d) {
    auto& bytes = after[laid[in.ConsumeIntegralInRange<std::size_t>(0, laid.size() - 1)].segment];
    if (bytes.empty()) continue;
    auto at = in.ConsumeIntegralInRange<std::size_t>(0, bytes.size() - 1);
    auto len = std::min(bytes.size() - at, in.ConsumeIntegralInRange<std::size_t>(1, 4096));
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: bytes[at] = static_cast<char>(bytes[at] ^ (1 << in.ConsumeIntegralInRange<int>(0, 7))); break;
      case 1: std::fill_n(bytes.begin() + static_cast<std::ptrdiff_t>(at / 4096 * 4096),
                          std::min<std::size_t>(4096, bytes.size() - at / 4096 * 4096), '\0'); break;
      case 2: {
        auto from = in.ConsumeIntegralInRange<std::size_t>(0, bytes.size() - len);
        auto copy = bytes.substr(from, len);
        bytes.replace(at, len, copy);
        break;
      }
      default:
        for (std::size_t i = at; i < at + len; ++i) bytes[i] = static_cast<char>(rng());
    }
  }
  if (in.ConsumeBool()) {
    auto& bytes = after[laid.back().segment];
    bytes.resize(in.ConsumeIntegralInRange<std::size_t>(0, bytes.size()));
  }
  for (const auto& [path, bytes] : after) write_file(path, bytes);

  std::set<std::uint64_t> intact;
  for (const auto& r : laid) {
    const auto& a = after[r.segment];
    if (r.offset + r.size <= a.size() && a.compare(r.offset, r.size, before[r.segment], r.offset, r.size) == 0) {
      intact.insert(r.seq);
    }
  }

  spool::format_inspect(spool::inspect_spool(dir));
  spool::recovery_report report;
  auto j = spool::open_file_journal(config, report);
  std::map<std::uint64_t, const laid_record*> by_seq;
  for (const auto& r : laid) by_seq[r.seq] = &r;
  std::set<std::uint64_t> replayed;
  for (;;) {
    auto batch = j->take(256, std::chrono::milliseconds{0}, std::chrono::steady_clock::now());
    if (batch.empty()) break;
    for (const auto& r : batch) {
      if (!replayed.insert(r.seq).second) fail("replayed twice", r.seq);
      if (intact.contains(r.seq) && by_seq.at(r.seq)->payload != r.payload) fail("intact record changed", r.seq);
    }
  }
  j.reset();
  if (replayed.size() != report.records_to_replay) fail("recovery and replay disagree", replayed.size());
  for (const auto& r : laid) {
    if (intact.contains(r.seq) && !replayed.contains(r.seq)) fail("intact record lost", r.seq);
  }
  // Recovery leaves a clean spool: a second one finds nothing to repair.
  auto second = spool::open_file_journal(config, report);
  if (report.corrupt_regions != 0 || report.torn_tails_truncated != 0) fail("second recovery repaired again", 0);
  return 0;
}
