// A small outbound HTTP(S) POST client for alert sinks: deadlines, TLS verification, the SSRF
// guard (ssrf.hpp) on every resolved address.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dlrd::net {

struct post_request {
  std::string url;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers, e.g. Authorization
  bool allow_private = false;                                ///< skip the SSRF guard
  /// Name lookup + TCP connect. A lookup still running then is abandoned: getaddrinfo
  /// cannot be interrupted, so it finishes on a thread of its own (at most 16 such threads;
  /// past that a post fails at once).
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{10000};                  ///< the whole exchange, connect included
};

struct post_result {
  int status = 0;              ///< HTTP status, 0 when no answer was read
  std::string error;           ///< empty when an answer was read (whatever its status)

  /// A 2xx answer. Redirects are never followed, so a 3xx is a failure like any other.
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  /// One line for logs and dlr_alert_delivery.last_error.
  std::string describe() const;
};

/// Sends one POST per call on a fresh connection ("Connection: close"), verifying https
/// certificates against the system CA store with SNI and host-name checks. Connects only to
/// resolved addresses that pass the SSRF guard. Reads the status line and headers only.
/// Thread-safe: post() may run on several threads at once (each call has its own I/O).
class client {
 public:
  client();
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Blocks until the answer, an error, the timeout, or `cancel` becoming true (checked
  /// every 50 ms). Never throws for network or protocol errors: they are in the result.
  post_result post(const post_request& request, const std::atomic<bool>* cancel = nullptr) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace dlrd::net
