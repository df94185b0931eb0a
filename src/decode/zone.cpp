// Time zones of zone-less gateway times: a fixed offset, or an IANA zone read from the
// system's tzdata (TZif files, RFC 8536), so that a local time converts DST-correctly.
#include <dlrd/decode/profile.hpp>

#include <dlrd/text/ascii.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>

namespace dlrd::decode {
namespace {

// Real TZif files are a few KiB; anything larger is not one.
constexpr std::size_t max_tzif_bytes = 256 * 1024;

std::int64_t big_endian(const std::string& b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

bool valid_zone_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return text::is_alnum(c) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

}  // namespace

std::int64_t time_zone::to_utc(std::int64_t local) const {
  if (changes.empty()) return local - std::int64_t{fixed_minutes} * 60;
  auto offset_at = [this](std::int64_t utc) {
    auto it = std::upper_bound(changes.begin(), changes.end(), utc,
                               [](std::int64_t t, const auto& c) { return t < c.first; });
    return it == changes.begin() ? changes.front().second : std::prev(it)->second;
  };
  // The offset in force at the instant this wall-clock time names, from the offsets a day
  // either side (zones never change twice a day). A repeated hour reads as its second
  // occurrence; a skipped one as if the clock had not moved yet.
  constexpr std::int64_t day = 86400;
  const std::int64_t before = offset_at(local - day), after = offset_at(local + day);
  std::optional<std::int64_t> utc;
  for (auto offset : {before, after}) {
    if (offset_at(local - offset) == offset) utc = std::max(utc.value_or(local - offset), local - offset);
  }
  return utc ? *utc : local - before;
}

std::optional<time_zone> load_time_zone(std::string_view name, std::string& why) {
  if (!valid_zone_name(name)) {
    why = "not a zone name";
    return std::nullopt;
  }
  const char* dir = std::getenv("TZDIR");
  std::string path = std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = "no such zone in the system's tzdata (" + path + ")";
    return std::nullopt;
  }
  std::string b;
  b.resize(max_tzif_bytes + 1);
  in.read(b.data(), static_cast<std::streamsize>(b.size()));
  b.resize(static_cast<std::size_t>(in.gcount()));
  auto bad = [&why, &path](std::string reason) {
    why = path + " is not a usable TZif file: " + std::move(reason);
    return std::nullopt;
  };
  if (b.size() > max_tzif_bytes) return bad("too large");
  // Header: magic, version, 15 reserved bytes, six counts. Version 2+ repeats the data with
  // 64-bit times after the version 1 block, then a footer (a POSIX TZ rule).
  struct counts {
    std::int64_t isut, isstd, leap, time, type, chars;
  };
  auto header = [&b](std::size_t at, counts& c) {
    if (at + 44 > b.size() || b.compare(at, 4, "TZif") != 0) return false;
    c = {big_endian(b, at + 20, 4), big_endian(b, at + 24, 4), big_endian(b, at + 28, 4),
         big_endian(b, at + 32, 4), big_endian(b, at + 36, 4), big_endian(b, at + 40, 4)};
    return c.isut >= 0 && c.isstd >= 0 && c.leap >= 0 && c.time >= 0 && c.time <= 10000 && c.type >= 1 &&
           c.type <= 256 && c.chars >= 0;
  };
  auto block_size = [](const counts& c, std::int64_t time_bytes) {
    return c.time * time_bytes + c.time + c.type * 6 + c.chars + c.leap * (time_bytes + 4) + c.isstd + c.isut;
  };
  counts c{};
  if (!header(0, c)) return bad("bad header");
  std::size_t at = 44;
  std::int64_t time_bytes = 4;
  if (b[4] >= '2') {
    at += static_cast<std::size_t>(block_size(c, 4));
    if (!header(at, c)) return bad("bad version 2 header");
    at += 44;
    time_bytes = 8;
  }
  const auto size = static_cast<std::size_t>(block_size(c, time_bytes));
  if (at + size > b.size()) return bad("truncated");
  const std::size_t times = at, indices = times + static_cast<std::size_t>(c.time * time_bytes),
                    types = indices + static_cast<std::size_t>(c.time);
  auto offset_of = [&](std::size_t type) { return big_endian(b, types + type * 6, 4); };
  time_zone z;
  z.name = std::string(name);
  // Before the first transition, local time type 0 holds.
  z.changes.emplace_back(std::numeric_limits<std::int64_t>::min(), offset_of(0));
  for (std::int64_t i = 0; i < c.time; ++i) {
    auto when = big_endian(b, times + static_cast<std::size_t>(i * time_bytes), static_cast<std::size_t>(time_bytes));
    auto type = static_cast<unsigned char>(b[indices + static_cast<std::size_t>(i)]);
    if (type >= c.type) return bad("a transition names no local time type");
    if (when <= z.changes.back().first) return bad("transitions out of order");
    z.changes.emplace_back(when, offset_of(type));
  }
  // A "slim" file stops at its last rule change and leaves later DST to the footer's rule,
  // which this reader does not apply: refuse it rather than be an hour off every summer.
  const std::string footer = time_bytes == 8 ? b.substr(at + size) : std::string();
  const auto last = z.changes.back().first;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  if (footer.find(',') != std::string::npos && last < now + 365LL * 86400) {
    return bad("its daylight-saving rule is only in the footer (a 'slim' file); install 'fat' tzdata");
  }
  return z;
}

}  // namespace dlrd::decode
