// One connection's life: the TLS handshake when the port speaks TLS, then requests read under
// deadlines, handed to the handler, answered, until the connection ends.
#pragma once

#include <utility>  // GCC 12 needs it before Boost 1.74's awaitable.hpp

#include "ack.hpp"
#include "listener_metrics.hpp"

#include <dlrd/http/config.hpp>
#include <dlrd/http/edge.hpp>
#include <dlrd/http/handler.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace dlrd::http {

/// A connection's socket and deadline. Thread-safety: used on its socket's executor only.
struct session_state : std::enable_shared_from_this<session_state> {
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
  std::string peer;               ///< the TCP peer's address, textual
  std::uint64_t deadline = 0;     ///< generation of the armed deadline
  bool idle = false;              ///< waiting for a request: a shutdown may close it now
  bool timed_out = false;

  session_state(boost::asio::ip::tcp::socket s, std::string p);

  /// Arms the per-operation deadline: on expiry the socket's operations are cancelled (not
  /// the socket closed), so that a 408 can still be written.
  void arm(std::chrono::milliseconds d);
  void disarm();
};

/// What every session of one listener shares; it outlives them.
struct session_env {
  const listen_config& listen;
  const handler& handle;
  answerer& answers;
  listener_metrics& metrics;
  const std::atomic<bool>& stopping;
};

/// An accepted connection: the TLS handshake with `tls` (null: plain TCP), then the session.
boost::asio::awaitable<void> run_connection(const session_env& env, std::shared_ptr<session_state> s,
                                            std::shared_ptr<boost::asio::ssl::context> tls);

/// A connection over max_connections(_per_ip): answered 503 on a plain port, closed at once on
/// a TLS port. It never counts as a session.
boost::asio::awaitable<void> refuse_connection(const session_env& env, std::shared_ptr<session_state> s, bool tls,
                                               rejection why);

}  // namespace dlrd::http
