// Keyed digests (HMAC-SHA1/256/512) and Ed25519 verification with OpenSSL 3.
#include "detail.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace dlrd::auth::detail {

namespace {

const char* digest_name(std::string_view algorithm) {
  if (algorithm == "sha1") return "SHA1";
  if (algorithm == "sha256") return "SHA256";
  if (algorithm == "sha512") return "SHA512";
  return nullptr;
}

struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

bool known_hmac_algorithm(std::string_view algorithm) { return digest_name(algorithm) != nullptr; }

namespace {

bool injected_failure() { return digest_failure_at > 0 && --digest_failure_at == 0; }

}  // namespace

std::optional<std::string> hmac(std::string_view algorithm, std::string_view key,
                                std::initializer_list<std::string_view> parts) {
  // Fetched once: an EVP_MAC is immutable and shared by every thread.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  const char* digest = digest_name(algorithm);
  if (mac == nullptr || digest == nullptr || injected_failure()) return std::nullopt;
  std::unique_ptr<EVP_MAC_CTX, mac_ctx_free> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return std::nullopt;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest), 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) != 1) {
    return std::nullopt;
  }
  for (auto part : parts) {
    if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()), part.size()) != 1) {
      return std::nullopt;
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1 || len == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::optional<std::string> sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (injected_failure() || EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1 || len == 0) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

void pkey_free::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }

ed25519_key ed25519_public_key(std::string_view base64) {
  auto raw = base64_decode(base64);
  if (!raw || raw->size() != 32) return nullptr;
  return ed25519_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                                 reinterpret_cast<const unsigned char*>(raw->data()), raw->size()));
}

bool ed25519_verify(const ed25519_key& key, std::string_view signature, std::string_view message) {
  if (!key || signature.size() != 64) return false;
  std::unique_ptr<EVP_MD_CTX, md_ctx_free> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  // Ed25519 hashes internally: no digest, and one-shot EVP_DigestVerify only.
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace dlrd::auth::detail
