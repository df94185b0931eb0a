// Random delivery reports for property tests.
#include "support/report_gen.hpp"

#include <array>
#include <string_view>

namespace dlrd::test {

report::delivery_report make_report(std::string message_id, report::status status, std::string raw_status,
                                    std::int64_t at_us, std::optional<std::string> error_code,
                                    std::string provider) {
  report::delivery_report r;
  r.message_id = std::move(message_id);
  r.canonical = status;
  r.raw_status = std::move(raw_status);
  r.event_at = report::time_point{std::chrono::microseconds{at_us}};
  r.event_time_from_gateway = true;
  r.received_at = r.event_at + std::chrono::seconds(1);
  r.provider = std::move(provider);
  r.error_code = std::move(error_code);
  return r;
}

std::map<std::string, report::delivery_report> fold_winners(const std::vector<report::delivery_report>& reports) {
  std::map<std::string, report::delivery_report> best;
  for (const auto& r : reports) {
    auto [it, inserted] = best.emplace(r.message_id, r);
    if (!inserted && report::wins_over(r, it->second)) it->second = r;
  }
  return best;
}

std::vector<report::delivery_report> report_gen::reports(int messages, int per_message) {
  using report::status;
  struct word {
    status s;
    std::string_view raw;
  };
  static constexpr std::array<word, 12> words{{
      {status::pending, "ENROUTE"},   {status::pending, "ACCEPTD"},   {status::pending, "BUFFERED"},
      {status::pending, "sent"},      {status::expired, "EXPIRED"},   {status::undelivered, "UNDELIV"},
      {status::undelivered, "failed"}, {status::rejected, "REJECTD"}, {status::delivered, "DELIVRD"},
      {status::delivered, "delivered"}, {status::expired, "expired"}, {status::rejected, "rejected"},
  }};
  // No empty error code: the rule ranks NULL and '' alike, so the row could show either.
  static constexpr std::array<std::string_view, 4> errors{"000", "001", "0x0b", "Z"};
  constexpr std::int64_t base_us = 1714564800LL * 1000000;  // 2024-05-01T12:00:00Z

  std::vector<report::delivery_report> out;
  for (int m = 0; m < messages; ++m) {
    int n = 1 + static_cast<int>(rng_() % static_cast<std::uint64_t>(per_message));
    for (int i = 0; i < n; ++i) {
      const auto& w = words[rng_() % words.size()];
      std::int64_t at = base_us + static_cast<std::int64_t>(rng_() % 3) * 1000000 + static_cast<std::int64_t>(rng_() % 2);
      std::optional<std::string> error;
      if (rng_() % 2 == 0) error = std::string(errors[rng_() % errors.size()]);
      out.push_back(make_report("msg-" + std::to_string(m), w.s, std::string(w.raw), at, error,
                                rng_() % 4 == 0 ? "other" : "smspm"));
    }
  }
  return out;
}

}  // namespace dlrd::test
