// Recovery at open: validate every segment, repair torn and corrupt tails, trim what
// the checkpoint covers, and locate the records to replay.
#include "recovery.hpp"

#include "format.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <system_error>

namespace dlrd::spool {

std::string describe(const recovery_report& r) {
  std::string s = std::to_string(r.segments) + " segment(s), " + std::to_string(r.records) +
                  " record(s) found, checkpoint " + std::to_string(r.checkpoint) + ", " +
                  std::to_string(r.records_to_replay) + " to replay";
  if (r.records > 0) s += ", seq " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq);
  if (r.torn_tails_truncated > 0) s += ", " + std::to_string(r.torn_tails_truncated) + " torn tail(s) truncated";
  if (r.corrupt_segments_quarantined > 0) {
    s += ", " + std::to_string(r.corrupt_segments_quarantined) + " corrupt segment(s) quarantined (" +
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

/// Copies the bytes of `path` from `from` on into a new side file, durably, before the
/// caller truncates them away, so that nothing is destroyed without a trace.
std::string quarantine_tail(file_ops& ops, const std::string& dir, const scanned_segment& seg, std::uint64_t from) {
  auto path = join_path(dir, seg.name);
  std::vector<std::string> names;
  check(ops.list_dir(dir, names), "cannot list " + dir);
  std::set<std::string> existing(names.begin(), names.end());
  std::string side = seg.name + ".corrupt";
  for (int n = 2; existing.contains(side); ++n) side = seg.name + ".corrupt." + std::to_string(n);
  std::string bytes;
  check(ops.read(path, from, seg.file_bytes - from, bytes), "cannot read " + path);
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

}  // namespace

recovered_spool recover_spool(file_ops& ops, const std::string& dir, recovery_report& report) {
  report = recovery_report{};
  check(ops.make_dirs(dir), "cannot create spool directory " + dir);
  auto scan = scan_spool(ops, dir);
  if (scan.has_checkpoint_temp) {
    // A checkpoint write that never reached its rename: the old checkpoint stands.
    check(ops.unlink(join_path(dir, checkpoint_temp_name)), "cannot remove checkpoint.tmp in " + dir);
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
    if (seg.scan.problem != problem_kind::none) {
      std::uint64_t cut = seg.scan.good_bytes;
      bool last = i + 1 == scan.segments.size();
      if (last && !seg.overlaps) {
        // The last segment's tail was being written when the process stopped: never acked.
        check(ops.truncate(path, cut), "cannot truncate " + path);
        ++report.torn_tails_truncated;
        report.bytes_truncated += seg.file_bytes - cut;
        report.problems.push_back(seg.name + ": " + seg.scan.reason + "; truncated " +
                                  std::to_string(seg.file_bytes - cut) + " byte(s)");
        spdlog::warn("spool {}: {}: {}; truncated {} byte(s)", dir, seg.name, seg.scan.reason, seg.file_bytes - cut);
      } else {
        auto side = quarantine_tail(ops, dir, seg, cut);
        check(ops.truncate(path, cut), "cannot truncate " + path);
        ++report.corrupt_segments_quarantined;
        report.bytes_quarantined += seg.file_bytes - cut;
        report.problems.push_back(seg.name + ": " + seg.scan.reason + "; " + std::to_string(seg.file_bytes - cut) +
                                  " byte(s) moved to " + side);
        spdlog::error("spool {}: {}: {}; {} byte(s) moved to {}", dir, seg.name, seg.scan.reason,
                      seg.file_bytes - cut, side);
      }
      seg.file_bytes = cut;
    }
    const auto& s = seg.scan;
    if (s.records > 0) {
      report.records += s.records;
      if (report.first_seq == 0) report.first_seq = s.first_seq;
      report.last_seq = std::max(report.last_seq, s.last_seq);
      highest = std::max(highest, s.last_seq);
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
