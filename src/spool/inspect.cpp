// `dlrd spool inspect`: reads segments and the checkpoint offline and prints a table.
#include <dlrd/spool/inspect.hpp>

#include "format.hpp"

#include <algorithm>
#include <ctime>

#include <sys/stat.h>

namespace dlrd::spool {

namespace {

std::chrono::system_clock::time_point modified_time(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::seconds{st.st_mtim.tv_sec} + std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
}

std::string format_time(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

inspect_report inspect_spool(const std::string& dir) {
  auto ops = posix_file_ops();
  auto scan = detail::scan_spool(*ops, dir);
  inspect_report r;
  r.dir = dir;
  r.checkpoint = scan.checkpoint;
  if (scan.has_checkpoint_file && !scan.checkpoint) r.checkpoint_problem = "checkpoint file unreadable";
  r.quarantine_files = scan.quarantine_files;
  for (const auto& s : scan.segments) {
    segment_info info;
    info.name = s.name;
    info.bytes = s.file_bytes;
    info.records = s.scan.records;
    info.first_seq = s.scan.first_seq;
    info.last_seq = s.scan.last_seq;
    info.unsent = s.scan.records_after;
    info.modified = modified_time(detail::join_path(dir, s.name));
    if (s.scan.problem != detail::problem_kind::none) {
      // Every bad region, not only the first: the records after them are counted above.
      if (s.overlaps) info.problem = s.scan.reason;
      for (const auto& g : s.scan.regions) {
        if (!info.problem.empty()) info.problem += "; ";
        info.problem += (g.kind == detail::problem_kind::torn ? "torn: " : "corrupt: ") + g.reason;
      }
      if (!s.scan.in_order) info.problem += std::string(info.problem.empty() ? "" : "; ") + "records out of seq order";
      info.bad_regions = s.overlaps ? 1 : s.scan.regions.size();
      ++r.corrupt_segments;
    }
    r.records += info.records;
    r.bytes += info.bytes;
    r.unsent_records += info.unsent;
    if (info.unsent > 0 && !r.oldest_unsent_seq) {
      r.oldest_unsent_seq = std::max(info.first_seq, r.checkpoint.value_or(0) + 1);
      r.oldest_unsent_segment_modified = info.modified;
    }
    r.segments.push_back(std::move(info));
  }
  return r;
}

std::string format_inspect(const inspect_report& r) {
  std::string out;
  out += "spool:       " + r.dir + "\n";
  out += "checkpoint:  " + (r.checkpoint ? std::to_string(*r.checkpoint) : std::string("none")) +
         (r.checkpoint_problem.empty() ? "" : " (" + r.checkpoint_problem + ")") + "\n";
  out += "segments:    " + std::to_string(r.segments.size()) + " (" + std::to_string(r.bytes) + " bytes, " +
         std::to_string(r.records) + " records)\n";
  out += "unsent:      " + std::to_string(r.unsent_records) + " record(s)";
  if (r.oldest_unsent_seq) {
    out += ", oldest seq " + std::to_string(*r.oldest_unsent_seq);
    if (r.oldest_unsent_segment_modified) out += " in a segment last written " + format_time(*r.oldest_unsent_segment_modified);
  }
  out += "\n";
  std::size_t regions = 0;
  for (const auto& s : r.segments) regions += s.bad_regions;
  out += "corruption:  " + std::to_string(r.corrupt_segments) + " segment(s) with " + std::to_string(regions) +
         " torn or corrupt region(s)";
  if (!r.quarantine_files.empty()) out += ", " + std::to_string(r.quarantine_files.size()) + " quarantine file(s)";
  out += "\n";
  if (r.segments.empty()) return out;

  std::vector<std::vector<std::string>> rows;
  rows.push_back({"SEGMENT", "BYTES", "RECORDS", "FIRST", "LAST", "UNSENT", "MODIFIED", "PROBLEM"});
  for (const auto& s : r.segments) {
    rows.push_back({s.name, std::to_string(s.bytes), std::to_string(s.records),
                    s.records ? std::to_string(s.first_seq) : "-", s.records ? std::to_string(s.last_seq) : "-",
                    std::to_string(s.unsent), format_time(s.modified), s.problem.empty() ? "-" : s.problem});
  }
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  out += "\n";
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      bool numeric = i >= 1 && i <= 5;
      auto pad = std::string(width[i] - row[i].size(), ' ');
      if (i > 0) line += "  ";
      line += numeric ? pad + row[i] : row[i] + (i + 1 < row.size() ? pad : "");
    }
    out += line + "\n";
  }
  for (const auto& q : r.quarantine_files) out += "quarantined: " + q + "\n";
  return out;
}

}  // namespace dlrd::spool
