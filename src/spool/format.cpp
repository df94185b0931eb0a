// Segment and checkpoint encoding, CRC32C (slicing-by-8), and the read-only spool scan.
#include "format.hpp"

#include <dlrd/spool/file_journal.hpp>
#include <dlrd/text/ascii.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <system_error>
#include <utility>

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

bool zero_filled(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '\0'; });
}

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

problem_kind decode_frame(std::string_view bytes, decoded_record& out, std::string* reason) {
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
  out.seq = seq;
  out.payload = payload;
  out.size = header_bytes + length;
  return problem_kind::none;
}

problem_kind decode_record(std::string_view bytes, std::uint64_t expected_seq, decoded_record& out,
                           std::string* reason) {
  decoded_record r;
  auto p = decode_frame(bytes, r, reason);
  if (p != problem_kind::none) return p;
  if (r.seq != expected_seq) {
    if (reason) *reason = "record sequence out of order";
    return problem_kind::corrupt;
  }
  out = r;
  return problem_kind::none;
}

std::size_t find_record(std::string_view bytes, std::size_t from, const seq_window& w, decoded_record& out) {
  const char magic[4] = {'D', 'L', 'R', '1'};
  for (std::size_t at = from; at + header_bytes <= bytes.size(); ++at) {
    // The cheap header checks first: magic, length, seq window; the checksum last.
    auto hit = bytes.find(std::string_view(magic, 4), at);
    if (hit == std::string_view::npos || hit + header_bytes > bytes.size()) break;
    at = hit;
    std::uint32_t length = get_u32(bytes.data() + at + 4);
    if (length > max_record_payload || bytes.size() - at - header_bytes < length) continue;
    std::uint64_t seq = get_u64(bytes.data() + at + 8);
    if (seq < w.min || seq > w.max) continue;
    auto reachable = [&](std::uint64_t base_seq, std::uint64_t base_end) {
      return at >= base_end && (seq <= base_seq || seq - base_seq - 1 <= (at - base_end) / header_bytes);
    };
    if (!reachable(w.origin_seq, w.origin_end) && !reachable(w.base_seq, w.base_end)) continue;
    if (decode_frame(bytes.substr(at), out) == problem_kind::none) return at;
  }
  return std::string_view::npos;
}

segment_scan scan_segment(std::string_view bytes, std::uint64_t first_seq, std::uint64_t after,
                          std::vector<frame_ref>* kept, bool active) {
  segment_scan s;
  std::vector<frame_ref> frames;  // in file order
  seq_window w;
  w.min = first_seq;
  w.origin_seq = first_seq - 1;
  w.base_seq = first_seq - 1;
  std::size_t offset = 0;
  std::size_t data_end = bytes.size();
  while (offset < bytes.size()) {
    // A record right where the previous one ended is taken on its checksum alone (a segment
    // that recovery rewrote has seq gaps where damage was); past damage, the window applies.
    decoded_record r;
    std::size_t at = offset;
    if (decode_frame(bytes.substr(offset), r) != problem_kind::none || r.seq < w.min || r.seq > w.max) {
      if (active && bytes.size() % zero_align == 0 && zero_filled(bytes.substr(offset))) {
        data_end = offset;
        break;
      }
      at = find_record(bytes, offset + 1, w, r);
    }
    if (at == std::string_view::npos) break;
    frames.push_back(frame_ref{at, r.size, r.seq});
    offset = at + r.size;
    if (r.seq > w.base_seq) {
      w.base_seq = r.seq;
      w.base_end = offset;
    }
  }
  bytes = bytes.substr(0, data_end);
  s.end = data_end;

  // Two valid records with one seq (a duplicated block, or a record inside another's
  // payload found past damage): the later one is kept, the earlier becomes a bad region.
  std::vector<std::size_t> by_seq(frames.size());
  for (std::size_t i = 0; i < frames.size(); ++i) by_seq[i] = i;
  bool sorted = true;
  for (std::size_t i = 1; i < frames.size(); ++i) sorted = sorted && frames[i - 1].seq < frames[i].seq;
  std::vector<bool> dropped(frames.size(), false);
  if (!sorted) {
    s.in_order = false;
    std::stable_sort(by_seq.begin(), by_seq.end(), [&](std::size_t a, std::size_t b) { return frames[a].seq < frames[b].seq; });
    auto bytes_of = [&](std::size_t i) { return bytes.substr(frames[i].offset, frames[i].size); };
    std::size_t keeper = by_seq.empty() ? 0 : by_seq[0];
    for (std::size_t i = 1; i < by_seq.size(); ++i) {
      auto next = by_seq[i];
      if (frames[next].seq != frames[keeper].seq) {
        keeper = next;
        continue;
      }
      // A copy of the same record: keep the first. Different bytes: keep the later, so that a
      // record-like text inside a damaged record's payload never shadows the real one.
      if (bytes_of(keeper) == bytes_of(next)) {
        dropped[next] = true;
      } else {
        dropped[keeper] = true;
        keeper = next;
      }
    }
    // Without its duplicates, is what remains still in file order?
    std::uint64_t previous = 0;
    bool ordered = true;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (dropped[i]) continue;
      ordered = ordered && (previous == 0 || frames[i].seq > previous);
      previous = frames[i].seq;
    }
    s.in_order = ordered;
  }

  auto describe_gap = [&](std::uint64_t from, std::uint64_t to) {
    bad_region g;
    g.offset = from;
    g.bytes = to - from;
    auto rest = bytes.substr(from, to - from);
    decoded_record r;
    std::string why;
    auto p = decode_frame(bytes.substr(from), r, &why);
    if (p == problem_kind::none) {
      why = r.size <= rest.size() ? "duplicate or misplaced record seq " + std::to_string(r.seq)
                                  : "record sequence out of order";
    }
    bool zeros = zero_filled(rest);
    // A write interrupted in a segment zeroed ahead: the start of a record, then zeros. (A
    // whole record with a bad checksum whose payload ends in zeros reads the same.)
    auto written = zeros ? rest : rest.substr(0, rest.find_last_not_of('\0') + 1);
    bool cut_by_zeros = p != problem_kind::torn && written.size() < rest.size() &&
                        decode_frame(written, r) == problem_kind::torn;
    if (to == bytes.size() && (p == problem_kind::torn || zeros || cut_by_zeros)) g.kind = problem_kind::torn;
    if (zeros) why = "zeroed bytes";
    if (cut_by_zeros) why = "record cut short";
    g.reason = why + " at offset " + std::to_string(from) + " (" + std::to_string(written.size()) + " bytes" +
               (cut_by_zeros ? ", then zeros)" : ")");
    s.bad_bytes += g.bytes;
    s.regions.push_back(std::move(g));
  };
  std::uint64_t end = 0;
  bool found_after = false;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (dropped[i]) continue;
    const auto& f = frames[i];
    if (f.offset > end) describe_gap(end, f.offset);
    end = f.offset + f.size;
    if (s.records == 0 || f.seq < s.first_seq) s.first_seq = f.seq;
    s.last_seq = std::max(s.last_seq, f.seq);
    ++s.records;
    if (f.seq > after) {
      if (!found_after) s.first_after_offset = f.offset;
      found_after = true;
      ++s.records_after;
    }
  }
  if (end < bytes.size()) describe_gap(end, bytes.size());
  s.good_bytes = s.regions.empty() ? bytes.size() : s.regions.front().offset;
  if (!found_after) s.first_after_offset = s.good_bytes;
  if (!s.regions.empty()) {
    bool only_torn_tail = s.regions.size() == 1 && s.regions.front().kind == problem_kind::torn && s.in_order;
    s.problem = only_torn_tail ? problem_kind::torn : problem_kind::corrupt;
    s.reason = s.regions.front().reason;
    if (s.regions.size() > 1) s.reason += " and " + std::to_string(s.regions.size() - 1) + " more bad region(s)";
  } else if (!s.in_order) {
    s.problem = problem_kind::corrupt;
    s.reason = "records out of sequence order";
  }
  if (kept) {
    kept->clear();
    for (auto i : by_seq) {
      if (!dropped[i]) kept->push_back(frames[i]);
    }
  }
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
  if (!std::all_of(digits.begin(), digits.end(), text::is_digit)) return std::nullopt;
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
    } else if (ends_with(name, rewrite_suffix)) {
      out.rewrite_files.push_back(name);
    }
  }
  std::vector<std::pair<std::string, std::uint64_t>> segments;  // name, first seq: in seq order
  for (const auto& name : names) {
    if (auto first = parse_segment_name(name)) segments.emplace_back(name, *first);
  }
  std::uint64_t previous_last = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& [name, first] = segments[i];
    const bool newest = i + 1 == segments.size();
    scanned_segment seg;
    seg.name = name;
    seg.name_seq = first;
    auto path = join_path(dir, name);
    check(ops.file_size(path, seg.file_bytes), "cannot stat " + path);
    std::string bytes;
    check(ops.read(path, 0, seg.file_bytes, bytes), "cannot read " + path);
    seg.file_bytes = bytes.size();
    seg.scan = scan_segment(bytes, first, out.checkpoint.value_or(0), nullptr, newest);
    if (first <= previous_last) {
      seg.overlaps = true;
      seg.scan = segment_scan{};
      seg.scan.problem = problem_kind::corrupt;
      seg.scan.reason = "first sequence " + std::to_string(first) + " not above the previous segment's " +
                        std::to_string(previous_last);
    } else if (seg.scan.problem != problem_kind::none && !newest) {
      // An older segment may end in the zeros the journal wrote ahead of its records: sealing
      // cuts them off, and only a failed cut (ENOSPC, EIO) leaves them. They hide nothing when
      // the next segment starts right after this one's last record (acked records are never
      // overwritten by zeros, and a lost one would leave a gap): then they are its clean end,
      // as in the newest segment. With a gap they stay damage.
      auto as_newest = scan_segment(bytes, first, out.checkpoint.value_or(0), nullptr, true);
      const auto last = as_newest.records > 0 ? as_newest.last_seq : first - 1;
      if (as_newest.problem == problem_kind::none && segments[i + 1].second == last + 1) seg.scan = as_newest;
    }
    if (seg.scan.records > 0) previous_last = seg.scan.last_seq;
    out.segments.push_back(std::move(seg));
  }
  return out;
}

}  // namespace dlrd::spool::detail
