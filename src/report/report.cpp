// Canonical status names.
#include <dlrd/report/report.hpp>

#include <algorithm>

namespace dlrd::report {

std::string_view to_string(status s) noexcept {
  switch (s) {
    case status::pending: return "pending";
    case status::expired: return "expired";
    case status::undelivered: return "undelivered";
    case status::rejected: return "rejected";
    case status::delivered: return "delivered";
  }
  return "pending";
}

bool fits_cost_eur(std::string_view cost) noexcept {
  constexpr auto npos = std::string_view::npos;
  if (!cost.empty() && (cost.front() == '-' || cost.front() == '+')) cost.remove_prefix(1);
  const auto point = cost.find('.');
  const auto whole = cost.substr(0, point);
  const auto fraction = point == npos ? std::string_view() : cost.substr(point + 1);
  auto digits = [](std::string_view s) { return s.find_first_not_of("0123456789") == npos; };
  if (whole.empty() || !digits(whole) || !digits(fraction)) return false;
  return whole.size() - std::min(whole.find_first_not_of('0'), whole.size()) <= 4;
}

std::optional<status> parse_canonical(std::string_view name) noexcept {
  for (auto s : {status::pending, status::expired, status::undelivered, status::rejected, status::delivered}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace dlrd::report
