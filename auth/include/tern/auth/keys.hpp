// Long-term credential keys, USERHASH and TURN REST passwords (RFC 8489 §9.2.2, §14.4; TURN REST API).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::auth {

using Md5Key = std::array<std::uint8_t, 16>;
using Sha256Key = std::array<std::uint8_t, 32>;

// MD5(username ":" realm ":" password). Inputs are taken as already-prepared UTF-8 bytes.
Md5Key md5_key(std::string_view username, std::string_view realm, std::string_view password);
// SHA-256 of the same string.
Sha256Key sha256_key(std::string_view username, std::string_view realm, std::string_view password);
// USERHASH = SHA-256(username ":" realm).
Sha256Key userhash(std::string_view username, std::string_view realm);
// base64(HMAC-SHA1(secret, username)): the password of a TURN REST credential.
std::string rest_password(std::string_view secret, std::string_view username);

// 8 hex digits of SHA-256(secret): names a secret in lists and logs without revealing it.
std::string secret_fingerprint(std::string_view secret);

std::string to_hex(std::span<const std::uint8_t> bytes);
// Empty vector when `hex` is not an even-length hex string.
std::vector<std::uint8_t> from_hex(std::string_view hex);

}  // namespace tern::auth
