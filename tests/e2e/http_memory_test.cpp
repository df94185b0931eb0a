// Pre-authentication memory bound: every HTTP framing a client can stretch (request line, header
// fields, chunk-size lines, chunk extensions, trailers, bodies, pipelined requests) is flooded at
// the real binary over raw sockets; each flood gets a 4xx or a close, and the daemon's peak RSS
// stays within a fixed bound of where it started.
#include "harness.hpp"

#include "support/pg_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dlrd::e2e {
namespace {

using namespace std::chrono_literals;

/// Bytes each flood offers; far past every limit, and far past the bound below.
constexpr std::size_t flood_bytes = 96u << 20;
/// How far the daemon's peak RSS may rise over the whole test.
constexpr long rss_bound_kib = 64 * 1024;
/// Generous deadlines: a flood must be refused for what it is, not answered by a timeout.
constexpr std::string_view slow_deadlines = "  read_timeout: 30s\n  body_timeout: 30s\n";

constexpr std::string_view chunked_head =
    "POST /webhooks/smspm HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

/// A value from /proc/<pid>/status in KiB ("VmHWM", "VmRSS"); -1 when unreadable.
long proc_status_kib(int pid, std::string_view key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      return std::atol(line.c_str() + key.size() + 1);
    }
  }
  return -1;
}

/// The pid of the process whose command line names `config_path` (the daemon under test).
int pid_of(const std::string& config_path) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    auto cmdline = read_file((entry.path() / "cmdline").string());
    if (cmdline.find(config_path) != std::string::npos && cmdline.find("serve") != std::string::npos) {
      return std::atoi(name.c_str());
    }
  }
  return -1;
}

struct flood_result {
  std::string answer;      ///< everything the server sent
  std::size_t sent = 0;    ///< bytes the server took before it stopped reading or closed
  bool closed = false;     ///< the server closed (or reset) the connection
};

/// Sends `head`, then `filler` repeated up to `total` bytes, reading whatever the server answers
/// meanwhile; stops sending when the server closes, then reads for at most `linger` more.
flood_result flood(int port, const std::string& head, const std::string& filler, std::size_t total,
                   std::chrono::milliseconds linger = 3s) {
  flood_result r;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return r;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return r;
  }
  std::string pending = head;
  std::size_t offset = 0;
  bool sending = true;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  auto read_available = [&] {
    char buf[16384];
    for (;;) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        r.answer.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) r.closed = true;
      return;
    }
  };
  while (sending && !r.closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, static_cast<short>(POLLIN | POLLOUT), 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) read_available();
    if (r.closed || !(p.revents & POLLOUT)) continue;
    if (offset == pending.size()) {
      if (r.sent >= total) {
        sending = false;
        break;
      }
      pending = filler;
      offset = 0;
    }
    auto n = ::send(fd, pending.data() + offset, pending.size() - offset, MSG_NOSIGNAL);
    if (n > 0) {
      offset += static_cast<std::size_t>(n);
      r.sent += static_cast<std::size_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      read_available();
      r.closed = true;
    }
  }
  ::shutdown(fd, SHUT_WR);
  auto until = std::chrono::steady_clock::now() + linger;
  while (!r.closed && std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) read_available();
  }
  ::close(fd);
  return r;
}

struct flood_case {
  std::string name;
  std::string head;
  std::string filler;
  int expected;                      ///< the status of the (first) answer
  std::size_t total = flood_bytes;   ///< bytes offered
};

std::vector<flood_case> floods() {
  const std::string chunked(chunked_head);
  std::string pipelined_post = "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n" + std::string(60000, 'p');
  return {
      {"request_target_without_end", "GET /", std::string(65536, 't'), 414},
      {"header_value_without_end", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ", std::string(65536, 'b'), 431},
      {"header_fields_without_end", "GET /healthz HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", 431},
      {"chunk_size_line_without_end", chunked, std::string(65536, '0'), 400},
      {"chunk_extension_without_end", chunked + "1;ext=", std::string(65536, 'e'), 400},
      {"chunk_extensions_one_after_another", chunked + "1", ";a=b", 400},
      {"trailer_value_without_end", chunked + "1\r\n{\r\n0\r\nX-Trailer: ", std::string(65536, 'v'), 400},
      {"trailer_fields_without_end", chunked + "0\r\n", "X-Trailer: v\r\n", 400},
      {"chunked_body_of_tiny_chunks", chunked, "1\r\na\r\n", 413},
      {"pipelined_requests_with_bodies", "", pipelined_post, 404},
      // Each one is answered: fewer of them, or the test would time the handler instead.
      {"pipelined_requests_without_bodies", "", "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404, 2u << 20},
  };
}

TEST(http_memory_bound, every_framing_flood_is_refused_and_peak_rss_stays_bounded) {
  test::pg_database db;
  temp_dir dir;
  daemon d(dir.path(), db.url(), "", std::string(slow_deadlines));
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const int pid = pid_of(d.config_path());
  ASSERT_GT(pid, 0);
  const long start_peak = proc_status_kib(pid, "VmHWM");
  ASSERT_GT(start_peak, 0);

  // All at once, one connection each, as one client with many connections would.
  const auto cases = floods();
  std::vector<flood_result> results(cases.size());
  {
    std::vector<std::thread> senders;
    for (std::size_t i = 0; i < cases.size(); ++i) {
      senders.emplace_back([&, i] { results[i] = flood(d.port(), cases[i].head, cases[i].filler, cases[i].total); });
    }
    for (auto& t : senders) t.join();
  }
  const long end_peak = proc_status_kib(pid, "VmHWM");
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    EXPECT_EQ(status_of(results[i].answer), cases[i].expected) << results[i].answer.substr(0, 300);
    if (cases[i].expected != 404) {
      // Refused well before the flood ended, and the connection closed.
      EXPECT_TRUE(results[i].closed);
      EXPECT_LT(results[i].sent, cases[i].total);
    }
  }
  std::printf("daemon peak RSS: %ld KiB at start, %ld KiB after the floods (+%ld KiB)\n", start_peak, end_peak,
              end_peak - start_peak);
#if defined(__SANITIZE_ADDRESS__)
  // ASan's quarantine and shadow memory make RSS meaningless here; the answers still count.
  std::printf("RSS bound not asserted under AddressSanitizer\n");
#else
  EXPECT_LT(end_peak - start_peak, rss_bound_kib) << "peak RSS grew from " << start_peak << " to " << end_peak << " KiB";
#endif

  client c(d.port());
  EXPECT_EQ(c.get("/healthz").status, 200);
  d.signal(SIGTERM);
  EXPECT_EQ(d.wait_exit(30s), 0) << d.log();
}

}  // namespace
}  // namespace dlrd::e2e
