// Parsing the `spool` section and choosing the journal it names.
#include <dlrd/spool/config.hpp>

namespace dlrd::spool {

void parse(config::section& s, spool_config& out) {
  s.read_choice("kind", out.kind, {"file", "memory"});
  s.read("dir", out.dir);
  if (out.dir.empty()) s.error("dir", "must not be empty");
  s.read_size("segment_bytes", out.segment_bytes, 64u << 10);
  s.read_size("max_bytes", out.max_bytes, 64u << 10);
  if (out.max_bytes < out.segment_bytes) s.error("max_bytes", "must be at least segment_bytes");
  std::string fsync = out.fsync ? "always" : "never";
  s.read_choice("fsync", fsync, {"always", "never"});
  out.fsync = fsync == "always";
  s.read("memory_max_records", out.memory_max_records, 1, std::size_t{1} << 40);
  s.read_duration("checkpoint_interval", out.checkpoint_interval, std::chrono::milliseconds{1});
  s.read_duration("retain_committed", out.retain_committed, std::chrono::milliseconds{0});
  s.read_size("retain_committed_max_bytes", out.retain_committed_max_bytes, 0);
}

std::unique_ptr<journal> open_journal(const spool_config& config, recovery_report& report) {
  report = recovery_report{};
  if (config.kind == "memory") return make_memory_journal(memory_config{config.memory_max_records});
  return open_file_journal(config, report);
}

}  // namespace dlrd::spool
