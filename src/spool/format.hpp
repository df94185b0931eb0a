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
/// Suffix of the clean copy recovery writes before renaming it over a damaged segment.
inline constexpr const char* rewrite_suffix = ".rewrite";
/// The journal zeroes its active segment ahead of the records up to a multiple of this.
inline constexpr std::uint64_t zero_align = 4096;

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

/// Decodes the record at the start of `bytes` whatever its seq: magic, length, checksum.
problem_kind decode_frame(std::string_view bytes, decoded_record& out, std::string* reason = nullptr);

/// Decodes the record at the start of `bytes`, which must carry `expected_seq`.
problem_kind decode_record(std::string_view bytes, std::uint64_t expected_seq, decoded_record& out,
                           std::string* reason = nullptr);

/// The sequence numbers a record found past damage may carry. Every record takes at least
/// header_bytes, so the record at offset P carries at most
/// base_seq + (P - base_end) / header_bytes + 1, where base_seq is a record that ended at
/// base_end: garbage (or an attacker's payload) that happens to hold the magic is refused
/// on its header before any checksum is computed. Two bases are tried: the origin (the
/// seq before the first one expected, at offset 0: exact for a segment as it was written),
/// and the highest record found so far (which helps past a gap recovery left).
struct seq_window {
  std::uint64_t min = 1;
  std::uint64_t max = ~std::uint64_t{0};
  std::uint64_t origin_seq = 0;
  std::uint64_t origin_end = 0;
  std::uint64_t base_seq = 0;
  std::uint64_t base_end = 0;
};

/// Resynchronisation past damage: the offset of the first valid record at or after `from`
/// whose seq fits `w` (scanning byte by byte), or std::string_view::npos. A record right
/// where the previous one ended needs no window: callers check that position first.
std::size_t find_record(std::string_view bytes, std::size_t from, const seq_window& w, decoded_record& out);

/// A byte range of a segment that holds no record worth keeping.
struct bad_region {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  /// torn: at the end of the segment, an incomplete record (or zeros) with nothing valid
  /// after it; corrupt: anything else (a failed checksum, garbage, a duplicated record).
  problem_kind kind = problem_kind::corrupt;
  std::string reason;  ///< what is wrong, e.g. "record checksum mismatch at offset 120 (58 bytes)"
};

/// A valid record of a segment, by position.
struct frame_ref {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::uint64_t seq = 0;
};

struct segment_scan {
  /// Where the data ends: the segment's size, less the zeros the journal wrote ahead of its
  /// records when the segment was its active one (see scan_segment). They are no damage,
  /// and nothing else in this scan covers them.
  std::uint64_t end = 0;
  std::uint64_t good_bytes = 0;         ///< length of the valid prefix (before the first bad region)
  std::uint64_t records = 0;            ///< valid records, anywhere in the segment
  std::uint64_t first_seq = 0;          ///< of valid records; 0 when none
  std::uint64_t last_seq = 0;
  std::uint64_t records_after = 0;      ///< valid records with seq > `after`
  std::uint64_t first_after_offset = 0; ///< offset of the first of them (good_bytes when none)
  /// none: no bad region; torn: one torn region at the end; corrupt: anything else.
  problem_kind problem = problem_kind::none;
  std::string reason;                   ///< the first bad region's
  std::vector<bad_region> regions;      ///< in offset order
  std::uint64_t bad_bytes = 0;
  /// The valid records' seqs increase in file order (false after a duplicated or moved block).
  bool in_order = true;
};

/// Validates every record of one segment whose first record should carry `first_seq`,
/// resynchronising past damage so that valid records after a bad one are still found.
/// Two valid records with one seq keep the later one. With `kept`, also lists the valid
/// records in seq order. In the `active` segment (the newest: the one the journal wrote
/// last), zeros from a record boundary to an end at a multiple of zero_align are its clean
/// end; anywhere else zeros are damage (a sealed segment is cut back to its records before
/// a newer one is created; scan_spool forgives an older segment whose cut failed).
segment_scan scan_segment(std::string_view bytes, std::uint64_t first_seq, std::uint64_t after,
                          std::vector<frame_ref>* kept = nullptr, bool active = false);

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
  std::vector<std::string> rewrite_files;   ///< `<segment>.rewrite` left by a recovery that stopped
  bool has_checkpoint_temp = false;
};

/// Reads every segment and the checkpoint in `dir` without changing anything. Throws
/// std::system_error when a file cannot be read.
spool_scan scan_spool(file_ops& ops, const std::string& dir);

}  // namespace dlrd::spool::detail
