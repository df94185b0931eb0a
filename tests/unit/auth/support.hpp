// Test helpers for the auth checks: requests, a fixed clock, and encodings computed with
// OpenSSL directly (never with the code under test).
#pragma once

#include <dlrd/auth/auth.hpp>
#include <dlrd/text/media_type.hpp>
#include <dlrd/text/url.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace dlrd::auth::test {

namespace http = boost::beast::http;

/// 2023-11-14T22:13:20Z, the "now" of every check unless a test says otherwise.
inline constexpr std::int64_t now_seconds = 1'700'000'000;

inline report::time_point at(std::int64_t unix_seconds) {
  return report::time_point(std::chrono::seconds(unix_seconds));
}

inline request make_request(std::string_view target, std::string_view body = {},
                            std::initializer_list<std::pair<std::string_view, std::string_view>> headers = {}) {
  request req{body.empty() ? http::verb::get : http::verb::post, target, 11};
  for (const auto& [name, value] : headers) req.insert(name, value);
  req.body() = std::string(body);
  return req;
}

struct call {
  std::string_view path_token{};
  std::string_view peer = "203.0.113.7";
  report::time_point now = at(now_seconds);
  /// What the decoder reads; unset: what a profile taking JSON, forms and query strings
  /// would read of the request, as the handler tells the verifier.
  std::optional<decode::reading> reads{};
};

/// What a profile taking `encodings` (decode::encoding bits) reads of `req`.
inline decode::reading reading_for(unsigned encodings, const request& req) {
  decode::profile p;
  p.encodings = encodings;
  std::string lowered;
  auto content_type = req.find(http::field::content_type);
  decode::callback_input in;
  in.get = req.method() == http::verb::get;
  in.media_type = text::media_type_of(content_type == req.end() ? std::string_view{} : content_type->value(), lowered);
  in.query = text::query_of(req.target());
  in.body = req.body();
  return decode::reading_of(p, in);
}

inline decode::reading reading_of_every_encoding(const request& req) {
  return reading_for(decode::json_body | decode::form_body | decode::query_string, req);
}

inline verdict check(const auth_config& config, const request& req, call c = {}) {
  return verifier(config).check({req, c.path_token, c.peer, c.now, c.reads ? *c.reads : reading_of_every_encoding(req)});
}

inline std::string base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(raw.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

inline std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

inline std::string to_hex(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// HMAC with OpenSSL's one-shot function; `algorithm` as in hmac_config.
inline std::string openssl_hmac(std::string_view algorithm, std::string_view key, std::string_view data) {
  const EVP_MD* md = algorithm == "sha1" ? EVP_sha1() : algorithm == "sha512" ? EVP_sha512() : EVP_sha256();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

inline std::string openssl_sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(out), len);
}

/// Whether the verdict failed for `check` (the reason names it).
inline bool failed_on(const verdict& v, std::string_view reason) {
  return !v.ok && v.reason.find(reason) != std::string::npos;
}

}  // namespace dlrd::auth::test
