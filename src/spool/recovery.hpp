// Recovery of a spool directory at open: repair, trim, and find what to replay.
// Private to the spool module.
#pragma once

#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/file_ops.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace dlrd::spool::detail {

struct recovered_segment {
  std::uint64_t first_seq = 0;  ///< from its name
  std::string path;
  std::uint64_t bytes = 0;      ///< all valid after recovery
  std::uint64_t last_seq = 0;
};

struct recovered_spool {
  std::vector<recovered_segment> segments;  ///< kept, in order; each holds a record after the checkpoint
  /// Segments whose records are all committed, kept (in order) when asked to retain them.
  std::vector<recovered_segment> committed;
  std::uint64_t checkpoint = 0;
  std::uint64_t next_seq = 1;
  std::uint64_t replay_records = 0;
  /// Where the first record after the checkpoint is, when there is one.
  std::uint64_t replay_segment = 0;
  std::uint64_t replay_offset = 0;
  std::uint64_t replay_seq = 0;
};

/// Creates `dir` when missing, truncates a torn tail of the last segment (an incomplete
/// last record with nothing valid after it), copies any other damage to a `.corrupt` side
/// file and keeps every valid record around it (rewriting the segment when valid records
/// follow the damage), deletes empty segments and, unless `keep_committed`, fully committed
/// ones, and fills `report`. Throws std::system_error on an I/O error.
recovered_spool recover_spool(file_ops& ops, const std::string& dir, recovery_report& report,
                              bool keep_committed = false);

}  // namespace dlrd::spool::detail
