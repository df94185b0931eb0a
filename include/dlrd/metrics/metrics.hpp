// Prometheus-style instruments (lock-free counters, gauges, fixed-bucket histograms) and
// the registry that renders them in the text exposition format 0.0.4.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dlrd::metrics {

/// Label names and values of one series, e.g. {{"route", "/metrics"}, {"code", "200"}}.
using labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Thread-safety: every member is lock-free and may be
/// called from any thread.
class counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

/// A value that goes up and down. Thread-safety: lock-free, any thread.
class gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// A distribution over fixed upper bounds (ascending; +Inf is implicit).
/// Thread-safety: observe() is lock-free and may run on any thread; a concurrent read
/// may see an observation in the count before it shows in a bucket, as Prometheus allows.
class histogram {
 public:
  explicit histogram(std::vector<double> upper_bounds);

  void observe(double v) noexcept;

  const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
  /// Cumulative counts, one per upper bound, then the +Inf bucket (== count()).
  std::vector<std::uint64_t> cumulative_counts() const;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative; last is +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Bucket bounds for latencies in seconds: 100 µs to 10 s.
std::vector<double> latency_buckets();
/// Bucket bounds for sizes (records per batch): 1 to 10000.
std::vector<double> size_buckets();

enum class kind : std::uint8_t { counter, gauge, histogram };

/// Owns every instrument and renders them. Instruments are created on first use and
/// live as long as the registry, so a returned reference may be cached by hot paths.
/// Thread-safety: every member may be called from any thread; creating or finding a
/// labelled series takes a shared lock (exclusive only the first time), the instruments
/// themselves never lock.
class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  /// Finds or creates a series. The same name must keep one kind and one help text;
  /// a mismatch throws std::logic_error. Names and label names must be valid Prometheus
  /// identifiers (checked, std::invalid_argument).
  counter& get_counter(std::string_view name, std::string_view help, const labels& l = {});
  gauge& get_gauge(std::string_view name, std::string_view help, const labels& l = {});
  /// `upper_bounds` is used when the series is created; later calls reuse the first one's.
  histogram& get_histogram(std::string_view name, std::string_view help, std::vector<double> upper_bounds,
                           const labels& l = {});

  /// A series whose value is read at render time (for numbers another module keeps, such
  /// as spool statistics). `k` is counter or gauge. Registering the same series again
  /// replaces its function. The function runs on the rendering thread.
  void add_callback(std::string_view name, std::string_view help, kind k, std::function<double()> read,
                    const labels& l = {});

  /// Runs `refresh` at the start of every render(), before any series is read: for figures
  /// that one reading gives several callback series (the process_* series read /proc once).
  /// Runs on the rendering thread, outside the registry's lock; concurrent renders may run
  /// it concurrently.
  void before_render(std::function<void()> refresh);

  /// Every family in first-registration order, each with its HELP and TYPE lines.
  std::string render() const;

 private:
  struct series {
    labels label_set;
    std::unique_ptr<counter> c;
    std::unique_ptr<gauge> g;
    std::unique_ptr<histogram> h;
    std::function<double()> read;
  };
  struct family {
    std::string name;
    std::string help;
    kind type;
    std::map<std::string, std::unique_ptr<series>> by_key;  // key: rendered label set
    std::vector<series*> in_order;
  };

  series& find_or_create(std::string_view name, std::string_view help, kind k, const labels& l,
                         const std::function<void(series&)>& init);

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<family>, std::less<>> families_;
  std::vector<family*> order_;
  std::vector<std::function<void()>> refreshes_;  // guarded by mutex_; only appended to
};

/// `v` escaped for a label value: backslash, double quote and newline.
std::string escape_label_value(std::string_view v);
/// Formats a sample value as Prometheus expects (integers without exponent, +Inf, NaN).
std::string format_value(double v);

}  // namespace dlrd::metrics
