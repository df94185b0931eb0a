// Recovery at open: validate every segment, cut torn tails, set damaged bytes aside and
// keep every valid record around them, trim what the checkpoint covers, locate the replay.
#include "recovery.hpp"

#include "format.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <system_error>

namespace dlrd::spool {

std::string describe(const recovery_report& r) {
  std::string s = std::to_string(r.segments) + " segment(s), " + std::to_string(r.records) +
                  " record(s) found, checkpoint " + std::to_string(r.checkpoint) + ", " +
                  std::to_string(r.records_to_replay) + " to replay";
  if (r.records > 0) s += ", seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq);
  if (r.torn_tails_truncated > 0) s += ", " + std::to_string(r.torn_tails_truncated) + " torn tail(s) truncated";
  if (r.corrupt_regions > 0) {
    s += ", " + std::to_string(r.corrupt_regions) + " corrupt region(s) in " +
         std::to_string(r.corrupt_segments_quarantined) + " segment(s) set aside (" +
         std::to_string(r.bytes_quarantined) + " bytes)";
  }
  if (r.segments_deleted > 0) s += ", " + std::to_string(r.segments_deleted) + " segment(s) deleted";
  if (r.checkpoint_unreadable) s += ", checkpoint unreadable";
  return s;
}

namespace detail {

namespace {

void check(std::error_code ec, const std::string& what) {
  if (ec) throw std::system_error(ec, what);
}

/// Writes `bytes` to a new side file `<segment>.corrupt` (or `.corrupt.N`), durably, before
/// the caller removes them from the segment, so that nothing is destroyed without a trace.
std::string keep_aside(file_ops& ops, const std::string& dir, const std::string& segment, std::string_view bytes) {
  std::vector<std::string> names;
  check(ops.list_dir(dir, names), "cannot list " + dir);
  std::set<std::string> existing(names.begin(), names.end());
  std::string side = segment + ".corrupt";
  for (int n = 2; existing.contains(side); ++n) side = segment + ".corrupt." + std::to_string(n);
  auto side_path = join_path(dir, side);
  int fd = -1;
  check(ops.open(side_path, open_mode::create_new, fd), "cannot create " + side_path);
  auto ec = ops.write(fd, bytes.data(), bytes.size());
  if (!ec) ec = ops.sync_file(fd);
  auto close_ec = ops.close(fd);
  if (!ec) ec = close_ec;
  check(ec, "cannot write " + side_path);
  check(ops.sync_dir(dir), "cannot sync " + dir);
  return side;
}

/// Replaces a segment by `clean` atomically: a `.rewrite` file, synced, renamed over it.
void rewrite_segment(file_ops& ops, const std::string& dir, const std::string& segment, const std::string& clean) {
  auto temp = join_path(dir, segment + rewrite_suffix);
  int fd = -1;
  check(ops.open(temp, open_mode::create_or_truncate, fd), "cannot create " + temp);
  auto ec = ops.write(fd, clean.data(), clean.size());
  if (!ec) ec = ops.sync_file(fd);
  auto close_ec = ops.close(fd);
  if (!ec) ec = close_ec;
  check(ec, "cannot write " + temp);
  check(ops.rename(temp, join_path(dir, segment)), "cannot rename " + temp);
  check(ops.sync_dir(dir), "cannot sync " + dir);
}

/// Repairs one damaged segment and returns its bytes afterwards. A torn tail (an
/// incomplete last record with nothing valid after it, in the newest segment) is cut off;
/// any other damage is copied aside first: a bad tail of an older segment is cut off, and
/// damage with valid records after it makes recovery rewrite the segment from its valid
/// records, so that every one of them is replayed.
std::string repair(file_ops& ops, const std::string& dir, const scanned_segment& seg, bool newest,
                   recovery_report& report) {
  auto path = join_path(dir, seg.name);
  std::string bytes;
  check(ops.read(path, 0, seg.file_bytes, bytes), "cannot read " + path);
  if (seg.overlaps) {
    auto side = keep_aside(ops, dir, seg.name, bytes);
    check(ops.truncate(path, 0), "cannot truncate " + path);
    ++report.corrupt_segments_quarantined;
    ++report.corrupt_regions;
    report.bytes_quarantined += bytes.size();
    report.problems.push_back(seg.name + ": " + seg.scan.reason + "; " + std::to_string(bytes.size()) +
                              " byte(s) moved to " + side);
    spdlog::error("spool {}: {}: {}; {} byte(s) moved to {}", dir, seg.name, seg.scan.reason, bytes.size(), side);
    return {};
  }
  std::vector<frame_ref> kept;
  auto scan = scan_segment(bytes, seg.name_seq, 0, &kept);
  const auto& regions = scan.regions;
  bool tail_only = scan.in_order && regions.size() == 1 && regions[0].offset + regions[0].bytes == bytes.size();
  if (tail_only) {
    const auto& tail = regions[0];
    std::string side;
    if (!(newest && tail.kind == problem_kind::torn)) side = keep_aside(ops, dir, seg.name, std::string_view(bytes).substr(tail.offset));
    check(ops.truncate(path, tail.offset), "cannot truncate " + path);
    if (newest) {
      // An interrupted write was never acked. A whole last record with a bad checksum is
      // either that or a damaged acked record: its bytes are kept, it is not counted as corruption.
      ++report.torn_tails_truncated;
      report.bytes_truncated += tail.bytes;
      if (!side.empty()) report.bytes_quarantined += tail.bytes;
      report.problems.push_back(seg.name + ": torn tail: " + tail.reason + "; truncated" +
                                (side.empty() ? "" : ", bytes kept in " + side));
      if (side.empty()) {
        spdlog::warn("spool {}: {}: torn tail: {}; truncated", dir, seg.name, tail.reason);
      } else {
        spdlog::error("spool {}: {}: last record unreadable: {}; truncated, bytes kept in {} (an interrupted write "
                      "or a damaged record)", dir, seg.name, tail.reason, side);
      }
    } else {
      ++report.corrupt_segments_quarantined;
      ++report.corrupt_regions;
      report.bytes_quarantined += tail.bytes;
      report.problems.push_back(seg.name + ": " + tail.reason + "; moved to " + side);
      spdlog::error("spool {}: {}: corrupt: {}; moved to {}", dir, seg.name, tail.reason, side);
    }
    bytes.resize(tail.offset);
    return bytes;
  }

  // Damage with valid records after it, or records out of order: keep the whole segment as it
  // was, and rewrite it from its valid records in seq order.
  auto side = keep_aside(ops, dir, seg.name, bytes);
  std::string clean;
  for (const auto& f : kept) clean.append(bytes, f.offset, f.size);
  rewrite_segment(ops, dir, seg.name, clean);
  ++report.corrupt_segments_quarantined;
  for (const auto& r : regions) {
    bool torn_tail = newest && r.kind == problem_kind::torn && r.offset + r.bytes == bytes.size();
    if (torn_tail) {
      ++report.torn_tails_truncated;
      report.bytes_truncated += r.bytes;
    } else {
      ++report.corrupt_regions;
      report.bytes_quarantined += r.bytes;
    }
    report.problems.push_back(seg.name + ": " + (torn_tail ? "torn tail: " : "corrupt: ") + r.reason +
                              "; segment kept as " + side + " and rewritten from its " +
                              std::to_string(kept.size()) + " valid record(s)");
    spdlog::error("spool {}: {}: {}{}; segment kept as {}, rewritten from its {} valid record(s)", dir, seg.name,
                  torn_tail ? "torn tail: " : "corrupt: ", r.reason, side, kept.size());
  }
  if (!scan.in_order) {
    report.problems.push_back(seg.name + ": records out of seq order; rewritten in order");
    spdlog::error("spool {}: {}: records out of seq order; rewritten in order", dir, seg.name);
  }
  return clean;
}

}  // namespace

recovered_spool recover_spool(file_ops& ops, const std::string& dir, recovery_report& report, bool keep_committed) {
  report = recovery_report{};
  check(ops.make_dirs(dir), "cannot create spool directory " + dir);
  auto scan = scan_spool(ops, dir);
  if (scan.has_checkpoint_temp) {
    // A checkpoint write that never reached its rename: the old checkpoint stands.
    check(ops.unlink(join_path(dir, checkpoint_temp_name)), "cannot remove checkpoint.tmp in " + dir);
  }
  for (const auto& name : scan.rewrite_files) {
    // A rewrite that never reached its rename: the damaged segment and its copy still stand.
    check(ops.unlink(join_path(dir, name)), "cannot remove " + join_path(dir, name));
  }
  report.checkpoint = scan.checkpoint.value_or(0);
  if (scan.has_checkpoint_file && !scan.checkpoint) {
    report.checkpoint_unreadable = true;
    report.problems.push_back("checkpoint file unreadable: every record is replayed");
    spdlog::error("spool {}: checkpoint file unreadable; replaying every record", dir);
  }

  recovered_spool out;
  out.checkpoint = report.checkpoint;
  std::uint64_t highest = report.checkpoint;
  bool dir_changed = false;
  for (std::size_t i = 0; i < scan.segments.size(); ++i) {
    auto& seg = scan.segments[i];
    auto path = join_path(dir, seg.name);
    if (seg.scan.end < seg.file_bytes) {
      // The zeros the journal wrote ahead of its records (or what is left of them) go.
      check(ops.truncate(path, seg.scan.end), "cannot truncate " + path);
      seg.file_bytes = seg.scan.end;
    }
    if (seg.scan.problem != problem_kind::none) {
      bool newest = i + 1 == scan.segments.size();
      auto repaired = repair(ops, dir, seg, newest, report);
      seg.file_bytes = repaired.size();
      seg.scan = scan_segment(repaired, seg.name_seq, report.checkpoint);
      if (seg.scan.problem != problem_kind::none) {
        throw std::system_error(std::make_error_code(std::errc::io_error),
                                "spool " + dir + ": " + seg.name + " still damaged after its repair: " + seg.scan.reason);
      }
    }
    const auto& s = seg.scan;
    if (s.records > 0) {
      report.records += s.records;
      if (report.first_seq == 0) report.first_seq = s.first_seq;
      report.last_seq = std::max(report.last_seq, s.last_seq);
      highest = std::max(highest, s.last_seq);
    }
    if (s.records > 0 && s.last_seq <= report.checkpoint && keep_committed) {
      out.committed.push_back(recovered_segment{seg.name_seq, path, seg.file_bytes, s.last_seq});
      continue;
    }
    if (s.records == 0 || s.last_seq <= report.checkpoint) {
      check(ops.unlink(path), "cannot delete " + path);
      ++report.segments_deleted;
      dir_changed = true;
      continue;
    }
    out.segments.push_back(recovered_segment{seg.name_seq, path, seg.file_bytes, s.last_seq});
    if (out.replay_records == 0 && s.records_after > 0) {
      out.replay_segment = seg.name_seq;
      out.replay_offset = s.first_after_offset;
      out.replay_seq = std::max(s.first_seq, report.checkpoint + 1);
    }
    out.replay_records += s.records_after;
  }
  if (dir_changed) check(ops.sync_dir(dir), "cannot sync " + dir);
  out.next_seq = highest + 1;
  report.segments = out.segments.size();
  report.records_to_replay = out.replay_records;
  return out;
}

}  // namespace detail
}  // namespace dlrd::spool
