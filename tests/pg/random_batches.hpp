// Writes reports in a random order, split into random batches, some replayed: the arrival
// patterns the convergence property tests (messages and parts) must be indifferent to.
#pragma once

#include "support/report_gen.hpp"
#include "support/writer_fixture.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <vector>

namespace dlrd::test {

/// Shuffles `reports` and hands them to `write` in batches of 1 to 12, a quarter of them
/// twice (a replay after an unknown commit outcome).
inline void write_in_random_batches(report_gen& gen, std::vector<report::delivery_report> reports,
                                    const std::function<void(const std::vector<report::delivery_report>&)>& write) {
  std::shuffle(reports.begin(), reports.end(), gen.rng());
  std::size_t at = 0;
  while (at < reports.size()) {
    auto n = 1 + gen.rng()() % 12;
    std::vector<report::delivery_report> batch(
        reports.begin() + static_cast<std::ptrdiff_t>(at),
        reports.begin() + static_cast<std::ptrdiff_t>(std::min(at + n, reports.size())));
    write(batch);
    if (gen.rng()() % 4 == 0) write(batch);
    at += n;
  }
}

}  // namespace dlrd::test
