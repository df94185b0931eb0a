// Native TLS for the listener: the server context made from the configured files, swapped whole
// on reload, and the one handshake failure that is worth an answer.
#pragma once

#include <dlrd/http/config.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <memory>
#include <mutex>
#include <optional>

namespace dlrd::http {

/// A TLS 1.2+ server context with the certificate chain and key of `files`; throws
/// std::runtime_error naming the file when they are unusable.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_config& files);

/// The client spoke plain HTTP to the TLS port (OpenSSL recognises the request line).
bool is_plain_http_on_tls(const boost::system::error_code& ec);

/// The context new connections use; replaced whole by reload(), while each open connection
/// keeps the one it started with. Thread-safety: every member from any thread.
class tls_contexts {
 public:
  /// Without `files`, the listener speaks plain HTTP and current() is null.
  explicit tls_contexts(const std::optional<tls_config>& files);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  /// Reads the configured files again.
  void reload();
  /// Throws std::runtime_error, keeping the current context, when the files are unusable or
  /// when the listener speaks plain HTTP (switching needs a restart).
  void reload(const tls_config& files);

 private:
  const std::optional<tls_config> files_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace dlrd::http
