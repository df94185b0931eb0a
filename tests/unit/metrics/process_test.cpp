// process_* series: read from /proc for this very process, and rendered under their
// standard names.
#include <dlrd/metrics/process.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <vector>

namespace {

TEST(process_metrics, figures_are_this_process_s) {
  auto f = dlrd::metrics::read_process_figures();
  ASSERT_TRUE(f.cpu_seconds && f.resident_bytes && f.virtual_bytes && f.open_fds && f.start_time_seconds);
  EXPECT_GT(*f.resident_bytes, 1024.0 * 1024);  // a running test binary holds more than 1 MiB
  EXPECT_GE(*f.virtual_bytes, *f.resident_bytes);
  const double now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  EXPECT_LE(*f.start_time_seconds, now + 1);
  EXPECT_GT(*f.start_time_seconds, now - 3600);  // started within the hour

  // CPU time grows with work, and open descriptors with opened files.
  const double before = *f.cpu_seconds;
  volatile double sink = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
  EXPECT_GT(*dlrd::metrics::read_process_figures().cpu_seconds, before);
  const double fds = *dlrd::metrics::read_process_figures().open_fds;
  std::vector<int> opened;
  for (int i = 0; i < 5; ++i) opened.push_back(::open("/dev/null", O_RDONLY));
  EXPECT_EQ(*dlrd::metrics::read_process_figures().open_fds, fds + 5);
  for (int fd : opened) ::close(fd);
}

TEST(process_metrics, rendered_under_the_standard_names) {
  dlrd::metrics::registry r;
  dlrd::metrics::register_process_metrics(r);
  auto text = r.render();
  for (const char* line : {"# TYPE process_cpu_seconds_total counter\n", "# TYPE process_resident_memory_bytes gauge\n",
                           "# TYPE process_open_fds gauge\n", "# TYPE process_max_fds gauge\n",
                           "# TYPE process_start_time_seconds gauge\n", "# TYPE process_virtual_memory_bytes gauge\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  EXPECT_EQ(text.find("process_open_fds 0\n"), std::string::npos) << text;
}

TEST(process_metrics, one_scrape_reads_proc_once_and_its_series_agree) {
  dlrd::metrics::registry r;
  int reads = 0;
  dlrd::metrics::register_process_metrics(r, [&reads] {
    ++reads;
    dlrd::metrics::process_figures f;
    f.open_fds = reads;
    f.max_fds = reads;
    return f;
  });
  auto first = r.render();
  EXPECT_EQ(reads, 1);
  EXPECT_NE(first.find("\nprocess_open_fds 1\n"), std::string::npos) << first;
  EXPECT_NE(first.find("\nprocess_max_fds 1\n"), std::string::npos) << first;
  auto second = r.render();
  EXPECT_EQ(reads, 2);
  EXPECT_NE(second.find("\nprocess_open_fds 2\n"), std::string::npos) << second;
  EXPECT_NE(second.find("\nprocess_max_fds 2\n"), std::string::npos) << second;
}

}  // namespace
