// Timestamp parsing: the formats gateways actually send, strictly validated.
#include <dlrd/report/time.hpp>

#include <dlrd/text/ascii.hpp>

#include <cmath>
#include <cstdio>

namespace dlrd::report {
namespace {

struct cursor {
  std::string_view s;
  std::size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  std::optional<int> digits(std::size_t n) {
    if (i + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t k = 0; k < n; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    i += n;
    return v;
  }
};

}  // namespace

std::optional<time_point> parse_timestamp(std::string_view text) {
  using namespace std::chrono;
  cursor c{text};
  auto y = c.digits(4);
  if (!y || !c.eat('-')) return std::nullopt;
  auto mo = c.digits(2);
  if (!mo || !c.eat('-')) return std::nullopt;
  auto d = c.digits(2);
  if (!d) return std::nullopt;
  year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  std::int64_t micros = 0;
  if (!c.done()) {
    if (!c.eat('T') && !c.eat('t') && !c.eat(' ')) return std::nullopt;
    auto h = c.digits(2);
    if (!h || !c.eat(':')) return std::nullopt;
    auto mi = c.digits(2);
    if (!mi) return std::nullopt;
    std::optional<int> se = 0;
    if (c.eat(':')) {
      se = c.digits(2);
      if (!se) return std::nullopt;
    }
    hh = *h;
    mm = *mi;
    ss = *se;
    if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    if (c.eat('.') || c.eat(',')) {
      int n = 0;
      std::int64_t scale = 100000;
      while (!c.done() && text::is_digit(c.peek())) {
        if (n < 6) micros += (c.peek() - '0') * scale;
        scale /= 10;
        ++n;
        ++c.i;
      }
      if (n == 0) return std::nullopt;
    }
  }
  int offset_minutes = 0;
  if (!c.done()) {
    if (c.eat('Z') || c.eat('z')) {
    } else {
      if (c.eat(' ') && c.done()) return std::nullopt;
      int sign = 0;
      if (c.eat('+')) sign = 1;
      else if (c.eat('-')) sign = -1;
      else if (c.s.substr(c.i) == "UTC" || c.s.substr(c.i) == "GMT") { c.i = c.s.size(); }
      if (sign != 0) {
        auto oh = c.digits(2);
        if (!oh) return std::nullopt;
        c.eat(':');
        std::optional<int> om = 0;
        if (!c.done()) om = c.digits(2);
        if (!om || *oh > 23 || *om > 59) return std::nullopt;
        offset_minutes = sign * (*oh * 60 + *om);
      }
    }
    if (!c.done()) return std::nullopt;
  }
  if (ss == 60) ss = 59;  // a leap second is recorded as the last second of the minute
  auto tp = sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss} + microseconds{micros} -
            minutes{offset_minutes};
  return time_point{duration_cast<microseconds>(tp.time_since_epoch())};
}

std::optional<time_point> from_epoch_number(double value) {
  using namespace std::chrono;
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  // Values past the year 5138 in seconds are taken as milliseconds.
  if (value > 1e11) value /= 1000.0;
  if (value > 1e11) return std::nullopt;
  return time_point{microseconds{static_cast<std::int64_t>(std::llround(value * 1e6))}};
}

std::string format_timestamp(time_point t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  auto rest = t - days;
  auto h = duration_cast<hours>(rest);
  rest -= h;
  auto m = duration_cast<minutes>(rest);
  rest -= m;
  auto s = duration_cast<seconds>(rest);
  rest -= s;
  int year = static_cast<int>(ymd.year());
  if (year < 0 || year > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", year, static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(h.count()), static_cast<int>(m.count()),
                  static_cast<int>(s.count()), static_cast<long long>(rest.count()));
    return buf;
  }
  // Hand-formatted: this runs twice per report on the write path, where snprintf showed up.
  char buf[28] = "0000-00-00T00:00:00.000000Z";
  auto put = [&buf](int pos, long long value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[pos + i] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, year, 4);
  put(5, static_cast<unsigned>(ymd.month()), 2);
  put(8, static_cast<unsigned>(ymd.day()), 2);
  put(11, h.count(), 2);
  put(14, m.count(), 2);
  put(17, s.count(), 2);
  put(20, rest.count(), 6);
  return std::string(buf, 27);
}

time_point now() noexcept {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace dlrd::report
