// Fuzzes spool recovery and inspect: the input becomes a segment file (and optionally a
// checkpoint); opening, draining and inspecting the spool must never crash.
#include <dlrd/spool/config.hpp>
#include <dlrd/spool/file_journal.hpp>
#include <dlrd/spool/inspect.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

const std::string& spool_dir() {
  static const std::string dir = [] {
    spdlog::set_level(spdlog::level::off);
    std::string tmpl = (std::filesystem::temp_directory_path() / "dlrd-fuzz-spool-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    return tmpl;
  }();
  return dir;
}

void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& dir = spool_dir();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove(e.path(), ec);

  // First byte: bit 0 = the next 16 bytes are a checkpoint file; bits 1-3 pick the
  // segment's first sequence number, so that names and sequences may disagree.
  std::uint64_t first_seq = 1;
  if (size > 0) {
    std::uint8_t flags = data[0];
    ++data;
    --size;
    if ((flags & 1) && size >= 16) {
      write_file(dir + "/checkpoint", data, 16);
      data += 16;
      size -= 16;
    }
    first_seq = 1 + ((flags >> 1) & 7);
  }
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.seg", static_cast<unsigned long long>(first_seq));
  write_file(dir + "/" + name, data, size);

  dlrd::spool::format_inspect(dlrd::spool::inspect_spool(dir));

  dlrd::spool::spool_config config;
  config.dir = dir;
  config.fsync = false;  // fuzzing speed; recovery reads and repairs the same way
  config.segment_bytes = 64u << 10;
  dlrd::spool::recovery_report report;
  auto journal = dlrd::spool::open_file_journal(config, report);
  dlrd::spool::describe(report);
  journal->close();
  std::uint64_t taken = 0;
  for (;;) {
    auto batch = journal->take(256, std::chrono::milliseconds{0},
                               std::chrono::steady_clock::now() + std::chrono::milliseconds{100});
    if (batch.empty()) break;
    taken += batch.size();
  }
  if (taken != report.records_to_replay) std::abort();  // recovery and replay disagree
  journal.reset();

  dlrd::spool::format_inspect(dlrd::spool::inspect_spool(dir));
  return 0;
}
