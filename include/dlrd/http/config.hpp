// The `listen` config section: where dlrd listens and the limits it enforces at the edge.
#pragma once

#include <dlrd/config/yaml.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace dlrd::http {

struct listen_config {
  std::string address = "127.0.0.1";
  int port = 8080;
  int threads = 2;                              ///< I/O threads running sessions
  std::size_t max_connections = 10'000;         ///< past this, new connections get 503 and are closed
  std::size_t header_limit = 8 * 1024;          ///< 431 past this
  std::size_t body_limit = 64 * 1024;           ///< 413 past this, decided from Content-Length first
  std::chrono::milliseconds read_timeout{10'000};   ///< a started request must arrive within this (408)
  std::chrono::milliseconds idle_timeout{60'000};   ///< keep-alive connections idle this long are closed
  std::chrono::milliseconds write_timeout{10'000};
  int retry_after_seconds = 5;                  ///< Retry-After on 503 answers

  bool operator==(const listen_config&) const = default;
};

void parse(config::section& s, listen_config& out);

}  // namespace dlrd::http
