// The `listen` config section: where dlrd listens and the limits it enforces at the edge.
#pragma once

#include <dlrd/config/yaml.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace dlrd::http {

/// Native TLS: the server's certificate chain and private key, both PEM files.
struct tls_config {
  std::string cert_file;  ///< certificate chain, leaf first
  std::string key_file;   ///< private key of the leaf certificate

  bool operator==(const tls_config&) const = default;
};

struct listen_config {
  std::string address = "127.0.0.1";
  int port = 8080;
  int threads = 2;                              ///< I/O threads running sessions
  std::size_t max_connections = 10'000;         ///< past this, new connections get 503 and are closed
  std::size_t max_connections_per_ip = 256;     ///< the same per source address (0 = unlimited)
  std::size_t header_limit = 8 * 1024;          ///< request line + header fields; 431 past this
  std::size_t max_header_count = 100;           ///< header fields per request; 431 past this
  std::size_t max_target_length = 2048;         ///< request-target bytes; 414 past this
  std::size_t body_limit = 64 * 1024;           ///< 413 past this, decided from Content-Length first
  std::chrono::milliseconds read_timeout{10'000};   ///< a connection's TLS handshake, and a started request's header, must arrive within this (408)
  std::chrono::milliseconds body_timeout{10'000};   ///< the body must arrive within this once the header is in (408)
  std::chrono::milliseconds idle_timeout{60'000};   ///< keep-alive connections idle this long are closed
  std::chrono::milliseconds write_timeout{10'000};
  int retry_after_seconds = 5;                  ///< Retry-After on 503 answers
  std::optional<tls_config> tls;                ///< absent: plain HTTP

  bool operator==(const listen_config&) const = default;
};

/// Reads `listen`; checks that the TLS files are readable (their content is checked when
/// the server loads them).
void parse(config::section& s, listen_config& out);

}  // namespace dlrd::http
