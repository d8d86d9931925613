// Stateless nonce cookies (RFC 8489 §9.2, §18.1 with Erratum 6290) authenticated by HMAC-SHA256.
#include "tern/auth/nonce.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <stdexcept>

#include "base64.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::auth {
namespace {

constexpr std::size_t kPrefixSize = 13;  // "obMatJos2" + 4 feature characters
constexpr std::size_t kExpirySize = 8;
constexpr std::size_t kMacSize = 16;
constexpr std::size_t kOpaqueSize = kExpirySize + kMacSize;  // 24 bytes = 32 base64url chars

std::uint64_t micros(std::chrono::system_clock::time_point t) noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count());
}

// HMAC-SHA256(secret, prefix || expiry || family || ip || port), truncated to kMacSize.
std::array<std::uint8_t, kMacSize> mac(std::span<const std::uint8_t> secret,
                                       std::string_view prefix, const std::uint8_t* expiry,
                                       const protocol::TransportAddress& client) noexcept {
  std::array<std::uint8_t, kPrefixSize + kExpirySize + 1 + 16 + 2> in{};
  std::size_t n = 0;
  for (char c : prefix) in[n++] = static_cast<std::uint8_t>(c);
  for (std::size_t i = 0; i < kExpirySize; ++i) in[n++] = expiry[i];
  in[n++] = static_cast<std::uint8_t>(client.family);
  for (std::size_t i = 0; i < client.ip_size(); ++i) in[n++] = client.ip[i];
  protocol::store_be16(&in[n], client.port);
  n += 2;
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), in.data(), n, full.data(),
       &len);
  std::array<std::uint8_t, kMacSize> out{};
  std::copy_n(full.begin(), kMacSize, out.begin());
  return out;
}

}  // namespace

std::optional<std::uint32_t> nonce_security_features(std::string_view nonce) noexcept {
  if (nonce.size() < kPrefixSize || !nonce.starts_with(kNonceCookie)) return std::nullopt;
  std::array<std::uint8_t, 3> bits{};
  if (!decode(kBase64, nonce.substr(kNonceCookie.size(), 4), bits)) return std::nullopt;
  return std::uint32_t{bits[0]} << 16 | std::uint32_t{bits[1]} << 8 | bits[2];
}

NonceIssuer::NonceIssuer(std::span<const std::uint8_t> secret, std::chrono::seconds lifetime,
                         std::uint32_t security_features)
    : secret_(secret.begin(), secret.end()), lifetime_(lifetime), features_(security_features) {
  if (secret_.size() < kMinSecretSize)
    throw std::invalid_argument("nonce secret shorter than 16 bytes");
  if (features_ > 0xFFFFFF) throw std::invalid_argument("security features exceed 24 bits");
}

std::string NonceIssuer::issue(const protocol::TransportAddress& client,
                               std::chrono::system_clock::time_point now) const {
  std::string nonce(kNonceCookie);
  nonce.reserve(kNonceSize);
  const std::array<std::uint8_t, 3> bits = {static_cast<std::uint8_t>(features_ >> 16),
                                            static_cast<std::uint8_t>(features_ >> 8),
                                            static_cast<std::uint8_t>(features_)};
  encode(kBase64, bits, nonce);
  std::array<std::uint8_t, kOpaqueSize> opaque{};
  const std::uint64_t expiry = micros(now + lifetime_);
  protocol::store_be32(&opaque[0], static_cast<std::uint32_t>(expiry >> 32));
  protocol::store_be32(&opaque[4], static_cast<std::uint32_t>(expiry));
  const auto tag = mac(secret_, nonce, opaque.data(), client);
  std::copy(tag.begin(), tag.end(), opaque.begin() + kExpirySize);
  encode(kBase64Url, opaque, nonce);
  return nonce;
}

NonceIssuer::Verdict NonceIssuer::check(std::string_view nonce,
                                        const protocol::TransportAddress& client,
                                        std::chrono::system_clock::time_point now) const noexcept {
  if (nonce.size() != kNonceSize || !nonce_security_features(nonce)) return Verdict::kInvalid;
  std::array<std::uint8_t, kOpaqueSize> opaque{};
  if (!decode(kBase64Url, nonce.substr(kPrefixSize), opaque)) return Verdict::kInvalid;
  const auto tag = mac(secret_, nonce.substr(0, kPrefixSize), opaque.data(), client);
  if (!protocol::equal_constant_time(tag, std::span(opaque).subspan(kExpirySize)))
    return Verdict::kInvalid;
  const std::uint64_t expiry =
      std::uint64_t{protocol::load_be32(&opaque[0])} << 32 | protocol::load_be32(&opaque[4]);
  return micros(now) < expiry ? Verdict::kValid : Verdict::kStale;
}

NonceIssuer NonceIssuer::with_features(std::uint32_t security_features) const {
  return NonceIssuer(secret_, lifetime_, security_features);
}

}  // namespace tern::auth
