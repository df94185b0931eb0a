// The HTTP listener: accepts connections (plain TCP or native TLS) and runs one session
// coroutine per connection.
#pragma once

#include <dlrd/http/config.hpp>
#include <dlrd/http/handler.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace dlrd::spool { class journal; }
namespace dlrd::metrics { class registry; }

namespace dlrd::http {

/// Counters the server keeps; read with `server::counters()` from any thread.
struct server_counters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;          ///< over max_connections
  std::uint64_t connections_refused_per_ip = 0;   ///< over max_connections_per_ip
  std::uint64_t requests = 0;
  std::uint64_t responses_2xx = 0;
  std::uint64_t responses_4xx = 0;
  std::uint64_t responses_5xx = 0;
  std::uint64_t active_connections = 0;
};

/// Thread-safety: start() and stop() from one controlling thread; counters(),
/// oldest_io_heartbeat() and reload_tls() from any.
class server {
 public:
  /// With `metrics`, the server counts into it (it must outlive the server):
  /// dlrd_http_requests_total{route,code}, dlrd_http_rejected_total{reason} (requests and
  /// connections refused at the edge), dlrd_reports_total{provider,status},
  /// dlrd_quarantined_total and dlrd_ack_latency_seconds.
  /// With `listen.tls`, loads the certificate and key; throws std::runtime_error naming
  /// the file when they are unusable.
  server(listen_config listen, handler_config handling, spool::journal& journal,
         metrics::registry* metrics = nullptr);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds and listens (throws std::system_error naming the address on failure), then
  /// starts the I/O threads.
  void start();

  /// Stops accepting, closes idle keep-alive connections, lets in-flight requests
  /// finish (their answers carry Connection: close) for at most `grace`, then closes
  /// what is left and joins the I/O threads.
  void stop(std::chrono::milliseconds grace);

  /// Re-reads the TLS certificate and key (those configured, or `files`): connections
  /// accepted afterwards use them, open ones keep theirs. Throws std::runtime_error with
  /// the reason, keeping the current certificate, when the new files are unusable or when
  /// the server was started without TLS (switching needs a restart).
  void reload_tls();
  void reload_tls(const tls_config& files);

  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  server_counters counters() const;

  /// The oldest of the I/O threads' last heartbeats: each thread's event loop beats
  /// every 250 ms, so an old value means a loop is blocked. now() before start().
  std::chrono::steady_clock::time_point oldest_io_heartbeat() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace dlrd::http
