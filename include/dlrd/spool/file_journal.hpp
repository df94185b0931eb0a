// The durable file spool: segment files of checksummed records, group-committed by one
// appender thread, recovered at open, trimmed behind the PostgreSQL checkpoint.
#pragma once

#include <dlrd/spool/file_ops.hpp>
#include <dlrd/spool/spool.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dlrd::spool {

struct spool_config;

/// What recovery found and did when the spool was opened.
struct recovery_report {
  std::size_t segments = 0;                     ///< segment files kept after recovery
  std::uint64_t records = 0;                    ///< valid records found in all segments
  std::size_t torn_tails_truncated = 0;         ///< last segment cut back to its last whole record
  std::size_t corrupt_segments_quarantined = 0; ///< segments whose damaged bytes were copied to `<segment>.corrupt`
  /// Damaged byte ranges that were not a torn tail: a record that fails its checksum or does
  /// not frame, with valid records after it (or at the end of a segment that is not the
  /// newest). Each is copied to a `.corrupt` file; the records around it are kept.
  std::size_t corrupt_regions = 0;
  std::uint64_t bytes_truncated = 0;
  std::uint64_t bytes_quarantined = 0;
  std::size_t segments_deleted = 0;             ///< empty, or every record already committed
  std::uint64_t first_seq = 0;                  ///< lowest valid record found; 0 when none
  std::uint64_t last_seq = 0;                   ///< highest valid record found; 0 when none
  std::uint64_t checkpoint = 0;                 ///< persisted: every record <= it is committed
  bool checkpoint_unreadable = false;           ///< the checkpoint file was corrupt: replay everything
  std::uint64_t records_to_replay = 0;          ///< records after the checkpoint, handed to writers again
  std::vector<std::string> problems;            ///< one human-readable line per problem found
};

/// One line for the log, e.g. "3 segment(s), 120 record(s), checkpoint 80, 40 to replay".
std::string describe(const recovery_report& r);

/// Largest payload one record may carry; a unit with a bigger one is answered `full`.
inline constexpr std::size_t max_record_payload = 16u << 20;

/// Recovers the spool in `config.dir` (creating the directory when missing), fills
/// `report`, then starts the appender thread. Throws std::system_error when the
/// directory cannot be read or repaired; the journal is then not usable.
///
/// Thread-safety: the returned journal may be used from any thread. Append handlers run
/// on the appender thread with no lock held; they must not block or call close().
std::unique_ptr<journal> open_file_journal(const spool_config& config, recovery_report& report,
                                           std::shared_ptr<file_ops> ops = posix_file_ops());

}  // namespace dlrd::spool
