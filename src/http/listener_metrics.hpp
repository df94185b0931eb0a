// What the listener counts: connections, requests and answers (read by server::counters()),
// and, with a registry, its series: requests by route and code, edge refusals, acked reports,
// quarantined callbacks and the ack latency.
#pragma once

#include <dlrd/http/edge.hpp>
#include <dlrd/http/server.hpp>
#include <dlrd/metrics/metrics.hpp>
#include <dlrd/report/report.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <string_view>
#include <vector>

namespace dlrd::http {

/// Thread-safety: every member from any thread (the registry's series are looked up once per
/// I/O thread and kept).
class listener_metrics {
 public:
  /// Without a registry only the plain counters are kept. The registry must outlive this.
  explicit listener_metrics(metrics::registry* registry);

  void accepted() { ++accepted_; }
  /// A connection over max_connections(_per_ip), also counted as an edge refusal.
  void refused(rejection why);
  void request() { ++requests_; }
  void rejected(rejection why);
  /// An answer written (or attempted) on `route`.
  void answered(std::string_view route, unsigned code);
  /// Records made durable, `since` the request was fully read.
  void spooled(const std::vector<report::ingest_record>& records, std::chrono::steady_clock::time_point since);

  /// The counters but active_connections, which the listener knows.
  server_counters counters() const;

 private:
  struct thread_series;
  thread_series& series() const;

  metrics::registry* registry_;
  metrics::histogram* ack_latency_ = nullptr;
  metrics::counter* quarantined_ = nullptr;
  std::array<metrics::counter*, rejection_names.size()> rejected_{};
  std::atomic<std::uint64_t> accepted_{0}, refused_{0}, refused_per_ip_{0}, requests_{0}, r2xx_{0}, r4xx_{0}, r5xx_{0};
};

}  // namespace dlrd::http
