// HMAC over a patched STUN header plus the message body, through OpenSSL's EVP_MAC (internal).
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace tern::protocol::detail {

enum class Digest { kSha1, kSha256 };

// HMAC(key, head || body) into out; returns the MAC length (20 or 32), 0 on failure.
std::size_t hmac(Digest digest, std::span<const std::uint8_t> key,
                 std::span<const std::uint8_t> head, std::span<const std::uint8_t> body,
                 std::array<std::uint8_t, 32>& out) noexcept;

}  // namespace tern::protocol::detail
