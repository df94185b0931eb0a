// Spool corruption found by recovery at start or by the journal at run time: counted in
// /metrics and noticed once per damaged region.
#pragma once

#include <dlrd/metrics/metrics.hpp>
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/spool.hpp>

#include <cstdint>
#include <string>

namespace dlrd::app {

/// Spool corruption, found by recovery at start or by the journal at run time: counted in
/// /metrics and noticed once per damaged region as a payload set aside (profile "spool",
/// stored in dlr_quarantine by the writers), so the notice takes the alert outbox's
/// payload_quarantined path and is as durable as any spooled record.
/// Thread-safety: tick() from the main loop only; the series may be read from any thread.
class spool_corruption {
 public:
  spool_corruption(spool::journal& journal, const spool::recovery_report& recovery, metrics::registry& reg);

  /// Notices the regions the journal found unreadable since the last call.
  void tick();

 private:
  void notice(std::string what);

  spool::journal& journal_;
  std::uint64_t seen_at_runtime_;
};

}  // namespace dlrd::app
