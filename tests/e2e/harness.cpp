// Black-box harness: process control for the dlrd binary and small HTTP clients.
#include <utility>

#include "harness.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dlrd::e2e {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

int free_port() {
  // Below the kernel's ephemeral range (32768-60999 by default): a port taken from that range
  // and released could become any outgoing connection's local port (a PostgreSQL session, a
  // load generator's client) before the daemon binds it, or while a test restarts it. Ports
  // here are only ever taken by a bind, so the one risk left is two tests drawing the same
  // port, and the bind check below (without SO_REUSEADDR, so TIME_WAIT counts as taken) makes
  // that a redraw.
  static std::mt19937 draw(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int port = pick(draw);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port between 20000 and 32000");
}

temp_dir::temp_dir() {
  std::string tmpl = "/tmp/dlrd-e2e-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

daemon::daemon(std::string dir, std::string database_url, std::string extra_yaml, std::string listen_extra)
    : dir_(std::move(dir)), config_path_(dir_ + "/dlrd.yaml"), port_(free_port()) {
  std::ofstream f(config_path_);
  f << "listen:\n  address: 127.0.0.1\n  port: " << port_ << "\n"
    << listen_extra
    << "database:\n  url: \"" << database_url << "\"\n"
    << "spool:\n  dir: " << dir_ << "/spool\n"
    << "log:\n  level: warn\n"
    << extra_yaml;
}

daemon::~daemon() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
}

void daemon::start() {
  std::string log = dir_ + "/dlrd.log";
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    // Unblock what the test runner may have blocked, so SIGTERM reaches dlrd's own handling.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execl(DLRD_BINARY, DLRD_BINARY, "serve", "--config", config_path_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
}

bool daemon::wait_ready(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    if (pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    try {
      client c(port_);
      if (c.get("/healthz").status == 200) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void daemon::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int daemon::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    int st = 0;
    auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      if (WIFSIGNALED(st)) return -WTERMSIG(st);
      return -999;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1000;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1001;
}

void daemon::kill_hard() {
  signal(SIGKILL);
  wait_exit(std::chrono::seconds(10));
}

std::string daemon::log() const { return read_file(dir_ + "/dlrd.log"); }

struct client::impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  boost::beast::flat_buffer buffer;
  int port;
  bool connected = false;

  void connect() {
    socket = tcp::socket(ioc);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    socket.set_option(tcp::no_delay(true));
    buffer.clear();
    connected = true;
  }
};

client::client(int port) : impl_(std::make_unique<impl>()) {
  impl_->port = port;
  impl_->connect();
}

client::~client() = default;

http_reply client::send(std::string_view method, std::string_view target, std::string_view body,
                        std::string_view content_type) {
  http_reply out;
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->connected) impl_->connect();
      bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
      req.set(bhttp::field::host, "127.0.0.1");
      if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
      req.keep_alive(true);
      req.body() = std::string(body);
      req.prepare_payload();
      bhttp::write(impl_->socket, req);
      bhttp::response<bhttp::string_body> res;
      bhttp::read(impl_->socket, impl_->buffer, res);
      out.status = res.result_int();
      for (const auto& h : res) {
        std::string name(h.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        out.headers[name] = std::string(h.value());
      }
      out.body = std::move(res.body());
      if (!res.keep_alive()) impl_->connected = false;
      return out;
    } catch (const std::exception&) {
      // A keep-alive connection the server closed between requests: reconnect once.
      impl_->connected = false;
      if (attempt == 1) throw;
    }
  }
  return out;
}

http_reply client::post(std::string_view target, std::string_view body, std::string_view content_type) {
  return send("POST", target, body, content_type);
}

http_reply client::get(std::string_view target) { return send("GET", target, {}, {}); }

std::string raw_exchange(int port, std::string_view bytes, std::chrono::milliseconds wait,
                         std::chrono::milliseconds pause_before_read) {
  return raw_exchange(port, {std::string(bytes)}, raw_sending{{}, false, pause_before_read}, wait);
}

std::string raw_exchange(int port, const std::vector<std::string>& pieces, const raw_sending& how,
                         std::chrono::milliseconds wait) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  boost::system::error_code ec;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(how.gap);
    // After an early answer the server stops reading: later writes may fail, which is fine.
    asio::write(s, asio::buffer(pieces[i]), ec);
  }
  if (how.half_close) s.shutdown(tcp::socket::shutdown_send, ec);
  if (how.pause_before_read.count() > 0) std::this_thread::sleep_for(how.pause_before_read);
  timeval tv{static_cast<time_t>(wait.count() / 1000), static_cast<suseconds_t>((wait.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::recv(s.native_handle(), buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

int status_of(std::string_view raw) {
  if (raw.size() < 12 || raw.substr(0, 5) != "HTTP/") return 0;
  auto sp = raw.find(' ');
  if (sp == std::string_view::npos || sp + 4 > raw.size()) return 0;
  return std::atoi(std::string(raw.substr(sp + 1, 3)).c_str());
}

int post_reports_now(client& c, const std::string& prefix, int total, int failed) {
  auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  int ok = 0;
  for (int i = 0; i < total; ++i) {
    std::string body = R"({"messageId":")" + prefix + "-" + std::to_string(i) + R"(","status":")" +
                       (i < failed ? "undelivered" : "delivered") + R"(","to":"+447700900123","timestamp":")" +
                       stamp + R"("})";
    ok += c.post("/webhooks/smspm", body).status == 200 ? 1 : 0;
  }
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::string run_command(const std::string& command, int& exit_code) {
  exit_code = -1;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return {};
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = std::fread(buf, 1, sizeof buf, pipe);
    if (n == 0) break;
    out.append(buf, n);
  }
  int st = ::pclose(pipe);
  if (st != -1 && WIFEXITED(st)) exit_code = WEXITSTATUS(st);
  return out;
}

std::string scrape_metrics(int port) {
  try {
    client c(port);
    return c.get("/metrics").body;
  } catch (const std::exception&) {
    return {};
  }
}

double metric_sample(const std::string& body, const std::string& series) {
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

double metric_value(int port, const std::string& series) { return metric_sample(scrape_metrics(port), series); }

}  // namespace dlrd::e2e
