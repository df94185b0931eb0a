// The `spool` config section, and opening the journal it describes.
#pragma once

#include <dlrd/config/yaml.hpp>
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/spool.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace dlrd::spool {

struct spool_config {
  std::string kind = "file";                      ///< "file" (durable) or "memory" (tests, lossy)
  std::string dir = "/var/lib/dlrd/spool";        ///< segment files and the checkpoint
  std::size_t segment_bytes = 64u << 20;          ///< rotate once a segment reaches this size
  std::size_t max_bytes = std::size_t{1} << 30;   ///< live segments + queued; beyond it appends get `full`
  bool fsync = true;                              ///< `fsync: always`; false is `never` (loses acks on power loss)
  std::size_t memory_max_records = 1'000'000;     ///< for kind memory
  std::chrono::milliseconds checkpoint_interval{200};
  /// File spool: how long a segment whose records are all committed is kept before it is
  /// deleted, so that they can be written again when the database loses commits it had
  /// confirmed (a failover to an asynchronous standby that had not received them). 0 keeps
  /// nothing and never replays.
  std::chrono::milliseconds retain_committed{std::chrono::seconds(60)};
  /// And at most this many bytes of such segments (the oldest go first).
  std::size_t retain_committed_max_bytes = std::size_t{1} << 30;
  /// Durable records kept in memory for writers that keep up; past it they are read
  /// back from the segment files. Not read from YAML.
  std::size_t cache_bytes = 32u << 20;

  bool operator==(const spool_config&) const = default;
};

/// Reads `kind`, `dir`, `segment_bytes`, `max_bytes`, `fsync`, `memory_max_records`,
/// `checkpoint_interval`, `retain_committed`, `retain_committed_max_bytes`; the caller reports unknown keys (section::finish).
void parse(config::section& s, spool_config& out);

/// Opens the journal `config.kind` names: the file spool (after recovery, which fills
/// `report`) or the memory spool (an empty report).
std::unique_ptr<journal> open_journal(const spool_config& config, recovery_report& report);

}  // namespace dlrd::spool
