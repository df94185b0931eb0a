// A local HTTP endpoint for alert webhooks in tests: the alert sinks post to it for real.
#pragma once

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace dlrd::e2e {

/// A minimal HTTP/1.1 receiver on 127.0.0.1: one request per connection, answers 500 to the
/// first `fail_first` requests and 200 afterwards, and keeps every request it answered.
class receiver {
 public:
  struct request {
    std::string head;
    std::string body;
    int answered = 0;
  };

  explicit receiver(int fail_first = 0) : fail_first_(fail_first) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0) {
      throw std::runtime_error("receiver: cannot listen");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~receiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  /// Bodies of the requests answered 200, parsed.
  std::vector<nlohmann::json> delivered() const {
    std::vector<nlohmann::json> out;
    for (const auto& r : requests()) {
      if (r.answered == 200) out.push_back(nlohmann::json::parse(r.body));
    }
    return out;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string data;
      char buf[4096];
      std::size_t need = std::string::npos;
      while (true) {
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        auto end = data.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          auto cl = data.find("Content-Length: ");
          std::size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
          need = end + 4 + length;
        }
        if (need != std::string::npos && data.size() >= need) break;
      }
      auto end = data.find("\r\n\r\n");
      request r;
      r.head = data.substr(0, end);
      r.body = end == std::string::npos ? "" : data.substr(end + 4);
      r.answered = served_++ < fail_first_ ? 500 : 200;
      std::string answer = "HTTP/1.1 " + std::to_string(r.answered) +
                           (r.answered == 200 ? " OK" : " Internal Server Error") +
                           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      ::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(c);
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(r));
    }
  }

  int fd_ = -1;
  int port_ = 0;
  int fail_first_;
  int served_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<request> requests_;
  std::thread thread_;
};

}  // namespace dlrd::e2e
