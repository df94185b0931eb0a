// Log-bucketed histogram: 256 exact buckets, then 128 sub-buckets per power of two.
#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace dlrd::bench {
namespace {

constexpr unsigned sub_bits = 7;                       // 128 sub-buckets per power of two
constexpr std::uint64_t sub_count = 1u << sub_bits;    // 128
constexpr std::uint64_t exact_limit = sub_count * 2;   // values below 256 get their own bucket
constexpr std::size_t bucket_count = exact_limit + (64 - sub_bits - 1) * sub_count;

}  // namespace

histogram::histogram() : buckets_(bucket_count, 0) {}

std::size_t histogram::index_of(std::uint64_t value) {
  if (value < exact_limit) return static_cast<std::size_t>(value);
  // shift >= 1 brings value into [128, 256).
  const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - (sub_bits + 1);
  return static_cast<std::size_t>(exact_limit + (shift - 1) * sub_count + ((value >> shift) - sub_count));
}

std::uint64_t histogram::lowest_of(std::size_t index) {
  if (index < exact_limit) return index;
  const std::uint64_t shift = (index - exact_limit) / sub_count + 1;
  const std::uint64_t sub = (index - exact_limit) % sub_count + sub_count;
  return sub << shift;
}

std::uint64_t histogram::width_of(std::size_t index) {
  if (index < exact_limit) return 1;
  return std::uint64_t{1} << ((index - exact_limit) / sub_count + 1);
}

void histogram::record(std::uint64_t value) {
  ++buckets_[index_of(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void histogram::merge(const histogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

std::uint64_t histogram::quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the wanted value, 1-based: q = 0.99 of 1000 values is the 990th.
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const std::uint64_t mid = lowest_of(i) + (width_of(i) - 1) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

}  // namespace dlrd::bench
