// The on-disk format of segments and the checkpoint, and the read-only spool scan that
// recovery and inspect share. Private to the spool module.
#pragma once

#include <dlrd/spool/file_ops.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlrd::spool::detail {

/// "DLR1" read as a little-endian u32.
inline constexpr std::uint32_t record_magic = 0x31524c44;
/// magic u32, length u32, seq u64, crc32c u32 over (seq, length, payload); little-endian.
inline constexpr std::size_t header_bytes = 20;
inline constexpr const char* checkpoint_name = "checkpoint";
inline constexpr const char* checkpoint_temp_name = "checkpoint.tmp";

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept;

/// Appends one encoded record to `out`.
void encode_record(std::string& out, std::uint64_t seq, std::string_view payload);

enum class problem_kind : std::uint8_t {
  none,
  torn,     ///< the data ends inside a record: an interrupted write
  corrupt,  ///< a whole record is wrong: bad magic, length, checksum or sequence
};

struct decoded_record {
  std::uint64_t seq = 0;
  std::string_view payload;
  std::size_t size = 0;  ///< header + payload
};

/// Decodes the record at the start of `bytes`, which must carry `expected_seq`.
problem_kind decode_record(std::string_view bytes, std::uint64_t expected_seq, decoded_record& out,
                           std::string* reason = nullptr);

struct segment_scan {
  std::uint64_t good_bytes = 0;         ///< length of the valid prefix
  std::uint64_t records = 0;
  std::uint64_t first_seq = 0;          ///< of valid records; 0 when none
  std::uint64_t last_seq = 0;
  std::uint64_t records_after = 0;      ///< valid records with seq > `after`
  std::uint64_t first_after_offset = 0; ///< offset of the first of them (good_bytes when none)
  problem_kind problem = problem_kind::none;
  std::string reason;
};

/// Validates the records of one segment whose first record must carry `first_seq`.
segment_scan scan_segment(std::string_view bytes, std::uint64_t first_seq, std::uint64_t after);

/// "<first_seq as 20 digits>.seg"
std::string segment_name(std::uint64_t first_seq);
std::optional<std::uint64_t> parse_segment_name(std::string_view name);

std::string encode_checkpoint(std::uint64_t seq);
std::optional<std::uint64_t> decode_checkpoint(std::string_view bytes);

std::string join_path(const std::string& dir, const std::string& name);

struct scanned_segment {
  std::string name;
  std::uint64_t name_seq = 0;
  std::uint64_t file_bytes = 0;
  segment_scan scan;
  /// Its first sequence number is not above the previous segment's last: set aside whole.
  bool overlaps = false;
};

struct spool_scan {
  bool has_checkpoint_file = false;
  std::optional<std::uint64_t> checkpoint;  ///< absent when missing or unreadable
  std::vector<scanned_segment> segments;    ///< in sequence order
  std::vector<std::string> quarantine_files;
  bool has_checkpoint_temp = false;
};

/// Reads every segment and the checkpoint in `dir` without changing anything. Throws
/// std::system_error when a file cannot be read.
spool_scan scan_spool(file_ops& ops, const std::string& dir);

}  // namespace dlrd::spool::detail
