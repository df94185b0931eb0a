// SMPP delivery receipt text and the fixed-pattern timestamps gateways use (YYMMDDhhmm...).
#include <dlrd/decode/profile.hpp>

#include <dlrd/report/time.hpp>
#include <dlrd/text/ascii.hpp>

#include <chrono>

namespace dlrd::decode {

std::optional<smpp_receipt> parse_smpp_receipt(std::string_view text) {
  // Keys as SMPP 3.4 Appendix B writes them; "submit date" and "done date" hold a space.
  static constexpr std::string_view keys[] = {"id:", "sub:", "dlvrd:", "submit date:", "done date:",
                                              "stat:", "err:", "text:"};
  smpp_receipt r;
  bool any = false;
  std::size_t i = 0;
  while (i < text.size()) {
    std::string_view key;
    for (auto k : keys) {
      if (i + k.size() <= text.size() && text::iequals(text.substr(i, k.size()), k)) {
        key = k;
        break;
      }
    }
    if (key.empty()) {
      ++i;
      continue;
    }
    std::size_t start = i + key.size();
    if (key == "text:") break;  // free text runs to the end
    // A value ends at whitespace (receipts sent as text may use tabs or line breaks) or any
    // other control character, which no field may hold (a JSON string may carry them).
    std::size_t end = start;
    while (end < text.size() && static_cast<unsigned char>(text[end]) > 0x20 && text[end] != 0x7f) ++end;
    auto value = std::string(text.substr(start, end - start));
    any = true;
    if (key == "id:") r.id = value;
    else if (key == "stat:") r.stat = value;
    else if (key == "err:") r.err = value;
    else if (key == "done date:") r.done_date = value;
    else if (key == "submit date:") r.submit_date = value;
    i = end;
  }
  if (!any) return std::nullopt;
  return r;
}

std::optional<report::time_point> parse_time_with(std::string_view format, std::string_view text,
                                                  const time_zone& zone) {
  using namespace std::chrono;
  if (format == "epoch") {
    if (text.empty() || text.size() > 20) return std::nullopt;
    double d = 0;
    std::size_t dots = 0;
    for (char c : text) {
      if (c == '.') ++dots;
      else if (c < '0' || c > '9') return std::nullopt;
    }
    if (dots > 1) return std::nullopt;
    try {
      d = std::stod(std::string(text));
    } catch (...) {
      return std::nullopt;
    }
    return report::from_epoch_number(d);
  }
  if (format == "iso8601") {
    auto t = report::parse_timestamp(text);
    if (!t || (zone.changes.empty() && zone.fixed_minutes == 0)) return t;
    // A time without a zone is local to the gateway: the profile's offset applies.
    auto tail = text.size() > 10 ? text.substr(10) : std::string_view{};
    bool zoned = tail.find_first_of("Zz+-") != std::string_view::npos || tail.find("UTC") != std::string_view::npos ||
                 tail.find("GMT") != std::string_view::npos;
    if (!zoned) {
      auto local = duration_cast<seconds>(t->time_since_epoch()).count();
      *t -= seconds{local - zone.to_utc(local)};
    }
    return t;
  }
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, s = 0;
  std::size_t i = 0;
  auto digits = [&](std::size_t n, int& out) {
    if (i + n > text.size()) return false;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = text[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    out = v;
    i += n;
    return true;
  };
  for (std::size_t f = 0; f < format.size(); ++f) {
    if (format[f] != '%' || f + 1 == format.size()) {
      if (i >= text.size() || text[i] != format[f]) return std::nullopt;
      ++i;
      continue;
    }
    char spec = format[++f];
    bool ok = false;
    switch (spec) {
      case 'Y': ok = digits(4, y); break;
      case 'y': ok = digits(2, y); y += 2000; break;
      case 'm': ok = digits(2, mo); break;
      case 'd': ok = digits(2, d); break;
      case 'H': ok = digits(2, h); break;
      case 'M': ok = digits(2, mi); break;
      case 'S': ok = digits(2, s); break;
      case '%': ok = i < text.size() && text[i] == '%' && (++i, true); break;
      default: return std::nullopt;
    }
    if (!ok) return std::nullopt;
  }
  if (i != text.size()) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 60) return std::nullopt;
  if (s == 60) s = 59;
  auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s};
  auto tp = sys_seconds{seconds{zone.to_utc(local.time_since_epoch().count())}};
  return report::time_point{duration_cast<microseconds>(tp.time_since_epoch())};
}

}  // namespace dlrd::decode
