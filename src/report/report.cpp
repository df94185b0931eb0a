// Canonical status names.
#include <dlrd/report/report.hpp>

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

std::optional<status> parse_canonical(std::string_view name) noexcept {
  for (auto s : {status::pending, status::expired, status::undelivered, status::rejected, status::delivered}) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace dlrd::report
