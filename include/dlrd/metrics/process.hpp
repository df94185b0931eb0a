// The process_* series every Prometheus client library exports (CPU, memory, file
// descriptors, start time), read from /proc at scrape time, so dashboards and alerts written
// for any exporter work unchanged.
#pragma once

#include <dlrd/metrics/metrics.hpp>

#include <functional>
#include <optional>

namespace dlrd::metrics {

/// One reading of this process's figures; a field is absent when /proc does not give it.
struct process_figures {
  std::optional<double> cpu_seconds;       ///< user + system time
  std::optional<double> resident_bytes;
  std::optional<double> virtual_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;           ///< the soft RLIMIT_NOFILE
  std::optional<double> start_time_seconds;  ///< since the Unix epoch
};

/// Reads /proc/self (stat, fd/) and the resource limits. Never throws.
process_figures read_process_figures();

/// Registers process_cpu_seconds_total, process_resident_memory_bytes,
/// process_virtual_memory_bytes, process_open_fds, process_max_fds and
/// process_start_time_seconds, from one call of `read` per render.
void register_process_metrics(registry& r, std::function<process_figures()> read = read_process_figures);

}  // namespace dlrd::metrics
