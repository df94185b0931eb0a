// process_* series from /proc/self: see process.hpp.
#include <dlrd/metrics/process.hpp>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

namespace dlrd::metrics {

namespace {

/// The system's boot time (btime in /proc/stat), for the start time in epoch seconds.
std::optional<double> boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime" && in >> value) return value;
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

std::optional<double> count_open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  double n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

process_figures read_process_figures() {
  process_figures f;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (std::getline(in, line) && ticks > 0) {
    // Fields after the command name, which is in parentheses and may hold spaces.
    auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 1));
      // field[i] is proc(5)'s field i + 3: utime 14, stime 15, starttime 22, vsize 23, rss 24.
      std::string field[22];
      for (auto& s : field) rest >> s;
      try {
        if (rest) {
          f.cpu_seconds = (std::stod(field[11]) + std::stod(field[12])) / ticks;
          if (auto boot = boot_time()) f.start_time_seconds = *boot + std::stod(field[19]) / ticks;
          f.virtual_bytes = std::stod(field[20]);
          f.resident_bytes = std::stod(field[21]) * page;
        }
      } catch (const std::exception&) {  // not numbers: a /proc this code does not know
        f.cpu_seconds = f.start_time_seconds = f.virtual_bytes = f.resident_bytes = std::nullopt;
      }
    }
  }
  f.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    f.max_fds = static_cast<double>(limit.rlim_cur);
  }
  return f;
}

void register_process_metrics(registry& r, std::function<process_figures()> read) {
  struct series {
    const char* name;
    const char* help;
    kind type;
    std::optional<double> process_figures::*field;
  };
  static constexpr series all[] = {
      {"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", kind::counter,
       &process_figures::cpu_seconds},
      {"process_resident_memory_bytes", "Resident memory size in bytes.", kind::gauge, &process_figures::resident_bytes},
      {"process_virtual_memory_bytes", "Virtual memory size in bytes.", kind::gauge, &process_figures::virtual_bytes},
      {"process_open_fds", "Number of open file descriptors.", kind::gauge, &process_figures::open_fds},
      {"process_max_fds", "Maximum number of open file descriptors.", kind::gauge, &process_figures::max_fds},
      {"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", kind::gauge,
       &process_figures::start_time_seconds},
  };
  // One /proc reading per scrape, taken before the series are read, so the six agree.
  struct last_reading {
    std::mutex mutex;
    process_figures figures;
  };
  auto last = std::make_shared<last_reading>();
  r.before_render([last, read = std::move(read)] {
    auto f = read();
    std::lock_guard lock(last->mutex);
    last->figures = f;
  });
  for (const auto& s : all) {
    r.add_callback(s.name, s.help, s.type, [last, field = s.field] {
      std::lock_guard lock(last->mutex);
      return (last->figures.*field).value_or(0.0);
    });
  }
}

}  // namespace dlrd::metrics
