// A log-bucketed latency histogram in the spirit of HdrHistogram: < 1% relative error, mergeable.
#pragma once

#include <cstdint>
#include <vector>

namespace dlrd::bench {

/// Records non-negative integer values (the load generator records microseconds).
/// Values below 256 are exact; above, each power of two is split into 128 buckets,
/// so a reported value is within 1/128 (0.8%) of a recorded one. Not thread-safe:
/// keep one per thread and merge() at the end.
class histogram {
 public:
  histogram();

  void record(std::uint64_t value);
  void merge(const histogram& other);

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  std::uint64_t min() const { return count_ ? min_ : 0; }
  double mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  /// The value at quantile q in [0, 1] (the bucket's midpoint, capped at max()); 0 when empty.
  std::uint64_t quantile(double q) const;

 private:
  static std::size_t index_of(std::uint64_t value);
  static std::uint64_t lowest_of(std::size_t index);
  static std::uint64_t width_of(std::size_t index);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
};

}  // namespace dlrd::bench
