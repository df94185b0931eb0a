// Segment and checkpoint encoding, CRC32C (slicing-by-8), and the read-only spool scan.
#include "format.hpp"

#include <dlrd/spool/file_journal.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <system_error>

namespace dlrd::spool::detail {

namespace {

using crc_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc_tables make_tables() {
  crc_tables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
    t[0][i] = c;
  }
  for (std::uint32_t i = 0; i < 256; ++i) {
    for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
  return t;
}

constexpr crc_tables tables = make_tables();

void put_u32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put_u64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint32_t record_crc(std::uint64_t seq, std::uint32_t length, std::string_view payload) {
  char prefix[12];
  put_u64(prefix, seq);
  put_u32(prefix + 8, length);
  std::uint32_t c = crc32c(0, prefix, sizeof prefix);
  return crc32c(c, payload.data(), payload.size());
}

constexpr std::uint32_t checkpoint_magic = 0x4b434c44;  // "DLCK"

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) noexcept {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = ~crc;
  while (n >= 8) {
    std::uint32_t lo = c ^ (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
                            std::uint32_t{p[3]} << 24);
    c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
        tables[4][lo >> 24] ^ tables[3][p[4]] ^ tables[2][p[5]] ^ tables[1][p[6]] ^ tables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = tables[0][(c ^ *p++) & 0xff] ^ (c >> 8);
  return ~c;
}

void encode_record(std::string& out, std::uint64_t seq, std::string_view payload) {
  auto length = static_cast<std::uint32_t>(payload.size());
  char header[header_bytes];
  put_u32(header, record_magic);
  put_u32(header + 4, length);
  put_u64(header + 8, seq);
  put_u32(header + 16, record_crc(seq, length, payload));
  out.append(header, header_bytes);
  out.append(payload);
}

problem_kind decode_record(std::string_view bytes, std::uint64_t expected_seq, decoded_record& out,
                           std::string* reason) {
  auto fail = [&](problem_kind k, const char* why) {
    if (reason) *reason = why;
    return k;
  };
  if (bytes.size() < header_bytes) return fail(problem_kind::torn, "truncated record header");
  if (get_u32(bytes.data()) != record_magic) return fail(problem_kind::corrupt, "bad record magic");
  std::uint32_t length = get_u32(bytes.data() + 4);
  if (length > max_record_payload) return fail(problem_kind::corrupt, "record length out of range");
  if (bytes.size() - header_bytes < length) return fail(problem_kind::torn, "truncated record payload");
  std::uint64_t seq = get_u64(bytes.data() + 8);
  auto payload = bytes.substr(header_bytes, length);
  if (get_u32(bytes.data() + 16) != record_crc(seq, length, payload)) {
    return fail(problem_kind::corrupt, "record checksum mismatch");
  }
  if (seq != expected_seq) return fail(problem_kind::corrupt, "record sequence out of order");
  out.seq = seq;
  out.payload = payload;
  out.size = header_bytes + length;
  return problem_kind::none;
}

segment_scan scan_segment(std::string_view bytes, std::uint64_t first_seq, std::uint64_t after) {
  segment_scan s;
  std::uint64_t expected = first_seq;
  std::size_t offset = 0;
  bool found_after = false;
  while (offset < bytes.size()) {
    decoded_record r;
    std::string reason;
    auto p = decode_record(bytes.substr(offset), expected, r, &reason);
    if (p != problem_kind::none) {
      s.problem = p;
      s.reason = reason + " at offset " + std::to_string(offset);
      break;
    }
    if (s.records == 0) s.first_seq = r.seq;
    s.last_seq = r.seq;
    ++s.records;
    if (r.seq > after) {
      if (!found_after) s.first_after_offset = offset;
      found_after = true;
      ++s.records_after;
    }
    offset += r.size;
    ++expected;
  }
  s.good_bytes = offset;
  if (!found_after) s.first_after_offset = offset;
  return s;
}

std::string segment_name(std::uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return buf;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != 24 || !ends_with(name, ".seg")) return std::nullopt;
  std::uint64_t v = 0;
  auto digits = name.substr(0, 20);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size() || v == 0) return std::nullopt;
  return v;
}

std::string encode_checkpoint(std::uint64_t seq) {
  std::string out(16, '\0');
  put_u32(out.data(), checkpoint_magic);
  put_u64(out.data() + 4, seq);
  put_u32(out.data() + 12, crc32c(0, out.data(), 12));
  return out;
}

std::optional<std::uint64_t> decode_checkpoint(std::string_view bytes) {
  if (bytes.size() != 16 || get_u32(bytes.data()) != checkpoint_magic) return std::nullopt;
  if (get_u32(bytes.data() + 12) != crc32c(0, bytes.data(), 12)) return std::nullopt;
  return get_u64(bytes.data() + 4);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

spool_scan scan_spool(file_ops& ops, const std::string& dir) {
  auto check = [&](std::error_code ec, const std::string& what) {
    if (ec) throw std::system_error(ec, what);
  };
  spool_scan out;
  std::vector<std::string> names;
  check(ops.list_dir(dir, names), "cannot list spool directory " + dir);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (name == checkpoint_name) {
      out.has_checkpoint_file = true;
      std::string bytes;
      check(ops.read(join_path(dir, name), 0, 64, bytes), "cannot read " + join_path(dir, name));
      out.checkpoint = decode_checkpoint(bytes);
    } else if (name == checkpoint_temp_name) {
      out.has_checkpoint_temp = true;
    } else if (name.find(".corrupt") != std::string::npos) {
      out.quarantine_files.push_back(name);
    }
  }
  std::uint64_t previous_last = 0;
  for (const auto& name : names) {
    auto first = parse_segment_name(name);
    if (!first) continue;
    scanned_segment seg;
    seg.name = name;
    seg.name_seq = *first;
    auto path = join_path(dir, name);
    check(ops.file_size(path, seg.file_bytes), "cannot stat " + path);
    std::string bytes;
    check(ops.read(path, 0, seg.file_bytes, bytes), "cannot read " + path);
    seg.file_bytes = bytes.size();
    seg.scan = scan_segment(bytes, *first, out.checkpoint.value_or(0));
    if (*first <= previous_last) {
      seg.overlaps = true;
      seg.scan = segment_scan{};
      seg.scan.problem = problem_kind::corrupt;
      seg.scan.reason = "first sequence " + std::to_string(*first) + " not above the previous segment's " +
                        std::to_string(previous_last);
    }
    if (seg.scan.records > 0) previous_last = seg.scan.last_seq;
    out.segments.push_back(std::move(seg));
  }
  return out;
}

}  // namespace dlrd::spool::detail
