// Spool corruption: its series, and one quarantined notice per damaged region.
#include "spool_corruption.hpp"

#include <dlrd/report/codec.hpp>
#include <dlrd/report/time.hpp>

#include <spdlog/spdlog.h>

#include <vector>

namespace dlrd::app {

spool_corruption::spool_corruption(spool::journal& journal, const spool::recovery_report& recovery,
                                   metrics::registry& reg)
    : journal_(journal), seen_at_runtime_(journal.snapshot().corrupt_regions) {
  using metrics::kind;
  const char* regions_help =
      "Damaged spool regions (records failing their checksum or framing, not a torn tail), found by recovery at "
      "start or while running; recovery keeps their bytes in .corrupt files.";
  const auto at_recovery = static_cast<double>(recovery.corrupt_regions);
  reg.add_callback("dlrd_spool_corrupt_regions_total", regions_help, kind::counter,
                   [at_recovery] { return at_recovery; }, {{"phase", "recovery"}});
  reg.add_callback("dlrd_spool_corrupt_regions_total", regions_help, kind::counter,
                   [&journal] { return static_cast<double>(journal.snapshot().corrupt_regions); },
                   {{"phase", "runtime"}});
  const auto bytes = static_cast<double>(recovery.bytes_quarantined);
  reg.add_callback("dlrd_spool_corrupt_bytes_total",
                   "Bytes recovery copied aside to .corrupt files at start (damaged regions, and last records "
                   "that could be torn writes or damage).",
                   kind::counter, [bytes] { return bytes; });
  // One notice per region: recovery writes one problem line for each (torn tails, seq order
  // and the checkpoint have lines of their own, which are not corruption).
  std::vector<std::string> lines;
  for (const auto& p : recovery.problems) {
    if (p.find(": torn tail: ") == std::string::npos && p.find("out of seq order") == std::string::npos &&
        p.find("checkpoint file") == std::string::npos) {
      lines.push_back(p);
    }
  }
  if (lines.size() != recovery.corrupt_regions) lines.assign(recovery.corrupt_regions, spool::describe(recovery));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    notice("spool corruption found by recovery (" + std::to_string(i + 1) + " of " + std::to_string(lines.size()) +
           "): " + lines[i]);
  }
}

void spool_corruption::tick() {
  const auto now = journal_.snapshot().corrupt_regions;
  for (; seen_at_runtime_ < now; ++seen_at_runtime_) {
    notice("spool corruption found while running (region " + std::to_string(seen_at_runtime_ + 1) +
           "): spooled records unreadable before a writer took them (see the log); the next start's recovery "
           "sets their bytes aside and replays the records around them");
  }
}

void spool_corruption::notice(std::string what) {
  spdlog::error("{}", what);
  report::quarantined_payload q;
  q.provider = "spool";
  q.reason = what;
  q.content_type = "text/plain";
  q.body = std::move(what);
  q.received_at = report::now();
  journal_.append({report::encode(report::ingest_record(std::move(q)))}, [](spool::append_result r) {
    if (r != spool::append_result::durable) spdlog::error("spool corruption notice not spooled; it is only logged");
  });
}

}  // namespace dlrd::app
