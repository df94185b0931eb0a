// `dlrd quarantine list|replay`: the callbacks that were acked but could not be decoded, shown,
// and decoded again through the configured profiles once a profile is fixed.
#pragma once

#include <dlrd/app/config.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dlrd::app {

struct quarantine_options {
  bool all = false;                     ///< list: replayed rows too
  bool dry_run = false;                 ///< replay: decode and report, write nothing
  std::optional<std::string> provider;  ///< only payloads that arrived for this profile
  std::vector<std::int64_t> ids;        ///< only these rows
  std::size_t limit = 100;              ///< list: at most this many rows
};

/// Prints the rows, one per line, and a count. Returns the process exit code.
int quarantine_list(const daemon_config& config, const quarantine_options& options);

/// Decodes every pending payload again with the profile it arrived for (as configured now),
/// writes the reports through the same idempotent writer path as the daemon (history,
/// convergence, failure notices), then marks the rows replayed. Payloads that still do not
/// decode stay pending, with the reason printed. Safe while the daemon runs; an interrupted
/// replay can be run again (a payload written but not yet marked converges to the same rows).
/// Returns 0 when everything was replayed, 3 when some payloads still do not decode, 1 on a
/// database error.
int quarantine_replay(const daemon_config& config, const quarantine_options& options);

}  // namespace dlrd::app
