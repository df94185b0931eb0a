// Random delivery reports for property tests: few messages, colliding times, raw words, error codes.
#pragma once

#include <dlrd/report/report.hpp>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace dlrd::test {

/// A report with the fields the convergence rule ranks; `at_us` is microseconds since the epoch.
report::delivery_report make_report(std::string message_id, report::status status, std::string raw_status,
                                    std::int64_t at_us, std::optional<std::string> error_code = std::nullopt,
                                    std::string provider = "smspm");

/// The winner per message by a plain left fold of report::wins_over: the reference the
/// merge and the SQL rule are checked against.
std::map<std::string, report::delivery_report> fold_winners(const std::vector<report::delivery_report>& reports);

/// Seeded generator; not thread-safe.
class report_gen {
 public:
  explicit report_gen(std::uint64_t seed) : rng_(seed) {}

  /// Up to `per_message` reports for each of `messages` message ids. Event times fall in a
  /// few-second window with whole-second and microsecond collisions, so every tie-break is hit.
  std::vector<report::delivery_report> reports(int messages, int per_message);

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

}  // namespace dlrd::test
