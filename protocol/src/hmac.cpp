// EVP_MAC-based HMAC-SHA1/HMAC-SHA256 for MESSAGE-INTEGRITY(-SHA256).
#include "hmac.hpp"

#include <algorithm>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace tern::protocol::detail {
namespace {

EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace

std::size_t hmac(Digest digest, std::span<const std::uint8_t> key,
                 std::span<const std::uint8_t> head, std::span<const std::uint8_t> body,
                 std::array<std::uint8_t, 32>& out) noexcept {
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) return 0;
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return 0;
  char name[8] = "SHA1";
  if (digest == Digest::kSha256) std::copy_n("SHA256", 7, name);
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
                               OSSL_PARAM_construct_end()};
  static const std::uint8_t kEmpty = 0;  // EVP_MAC_init refuses a null key
  const std::uint8_t* k = key.empty() ? &kEmpty : key.data();
  std::size_t len = 0;
  const bool ok = EVP_MAC_init(ctx, k, key.size(), params) == 1 &&
                  EVP_MAC_update(ctx, head.data(), head.size()) == 1 &&
                  EVP_MAC_update(ctx, body.data(), body.size()) == 1 &&
                  EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  return ok ? len : 0;
}

}  // namespace tern::protocol::detail
