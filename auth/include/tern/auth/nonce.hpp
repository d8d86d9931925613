// Stateless NONCE values: the RFC 8489 §9.2 nonce cookie plus an HMAC over expiry and client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::auth {

// STUN Security Features bits (RFC 8489 §18.1; Erratum 6290: bit 0 is the least significant).
inline constexpr std::uint32_t kFeaturePasswordAlgorithms = 1u << 0;
inline constexpr std::uint32_t kFeatureUsernameAnonymity = 1u << 1;

// "obMatJos2": a NONCE that starts with it carries the security features (RFC 8489 §9.2).
inline constexpr std::string_view kNonceCookie = "obMatJos2";

// The 24 feature bits of a cookie-prefixed nonce; nullopt when the nonce has no cookie.
std::optional<std::uint32_t> nonce_security_features(std::string_view nonce) noexcept;

// Issues and checks nonces of the form
//   "obMatJos2" + base64(features, 3 bytes) + base64url(expiry µs, 8 bytes || MAC, 16 bytes)
// where MAC = HMAC-SHA256(secret, cookie || expiry || family || ip || port), truncated.
// Nothing is stored: a nonce is bound to one client transport address and expires on its own.
class NonceIssuer {
 public:
  enum class Verdict { kValid, kStale, kInvalid };

  static constexpr std::size_t kMinSecretSize = 16;
  static constexpr std::size_t kNonceSize = 45;

  // Throws std::invalid_argument for a secret shorter than kMinSecretSize or features that do
  // not fit in 24 bits (start-up errors).
  NonceIssuer(std::span<const std::uint8_t> secret, std::chrono::seconds lifetime,
              std::uint32_t security_features);

  std::string issue(const protocol::TransportAddress& client,
                    std::chrono::system_clock::time_point now) const;
  // kInvalid: not ours, garbled, or issued to another client. kStale: ours but expired (438).
  Verdict check(std::string_view nonce, const protocol::TransportAddress& client,
                std::chrono::system_clock::time_point now) const noexcept;

  std::uint32_t security_features() const noexcept { return features_; }
  // The same secret and lifetime with other features: nonces either one issued check on both.
  NonceIssuer with_features(std::uint32_t security_features) const;
  std::chrono::seconds lifetime() const noexcept { return lifetime_; }

 private:
  std::vector<std::uint8_t> secret_;
  std::chrono::seconds lifetime_;
  std::uint32_t features_;
};

}  // namespace tern::auth
