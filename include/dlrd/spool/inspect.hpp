// `dlrd spool inspect`: an offline, read-only look at a spool directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::spool {

struct segment_info {
  std::string name;
  std::uint64_t bytes = 0;
  std::uint64_t records = 0;        ///< valid records, before and after any damage
  std::uint64_t first_seq = 0;      ///< 0 when the segment holds no valid record
  std::uint64_t last_seq = 0;
  std::uint64_t unsent = 0;         ///< records after the checkpoint
  std::string problem;              ///< empty, or each bad region: what is wrong, its offset and size
  std::size_t bad_regions = 0;      ///< torn or corrupt byte ranges (recovery keeps the records around them)
  std::chrono::system_clock::time_point modified{};
};

struct inspect_report {
  std::string dir;
  std::vector<segment_info> segments;          ///< in sequence order
  std::optional<std::uint64_t> checkpoint;     ///< absent when there is no (readable) checkpoint
  std::string checkpoint_problem;              ///< empty, or why the checkpoint could not be read
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;
  std::uint64_t unsent_records = 0;            ///< after the checkpoint: what the next start replays
  std::optional<std::uint64_t> oldest_unsent_seq;
  std::optional<std::chrono::system_clock::time_point> oldest_unsent_segment_modified;
  std::size_t corrupt_segments = 0;            ///< segments with a torn or corrupt region
  std::vector<std::string> quarantine_files;   ///< `*.corrupt` side files set aside by recovery
};

/// Reads the spool in `dir` without modifying anything (safe while the daemon is
/// stopped; while it runs, the newest segment may show a torn tail). Throws
/// std::system_error when the directory cannot be read.
inspect_report inspect_spool(const std::string& dir);

/// A human-readable summary followed by an aligned table of segments.
std::string format_inspect(const inspect_report& report);

}  // namespace dlrd::spool
