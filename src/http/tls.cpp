// The listener's TLS context: made from PEM files with a fixed policy, reloaded whole.
#include "tls.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

namespace dlrd::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

/// Intermediate-compatibility TLS 1.2 suites (forward secret AEAD only); TLS 1.3 keeps
/// OpenSSL's defaults.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

const char* const tls_off = "TLS is not enabled on this listener; enabling it needs a restart";

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const tls_config& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                   ssl::context::no_compression);
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) throw std::runtime_error("TLS: no usable cipher suite");
  // An encrypted key would make OpenSSL prompt on a terminal; a daemon refuses it instead.
  ctx->set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); });
  error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) throw std::runtime_error("listen.tls.cert_file '" + files.cert_file + "': " + ec.message());
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) throw std::runtime_error("listen.tls.key_file '" + files.key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    throw std::runtime_error("listen.tls.key_file '" + files.key_file + "' does not match the certificate in '" +
                             files.cert_file + "'");
  }
  return ctx;
}

bool is_plain_http_on_tls(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category() &&
         ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

tls_contexts::tls_contexts(const std::optional<tls_config>& files) : files_(files) {
  if (files_) context_ = make_tls_context(*files_);
}

void tls_contexts::reload() {
  if (!files_) throw std::runtime_error(tls_off);
  reload(*files_);
}

std::shared_ptr<ssl::context> tls_contexts::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

void tls_contexts::reload(const tls_config& files) {
  if (!current()) throw std::runtime_error(tls_off);
  auto fresh = make_tls_context(files);  // throws, keeping the current context
  std::lock_guard lock(mutex_);
  context_ = std::move(fresh);
}

}  // namespace dlrd::http
