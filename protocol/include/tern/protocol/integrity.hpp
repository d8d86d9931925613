// MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT checks (RFC 8489 §14.5-14.7).
#pragma once

#include <cstdint>

#include "tern/protocol/message.hpp"

namespace tern::protocol {

enum class Check { kAbsent, kValid, kInvalid };

// None of these touch the message bytes: the HMAC input uses a patched copy of the header.
Check check_message_integrity(const MessageView& m, Bytes key) noexcept;
Check check_message_integrity_sha256(const MessageView& m, Bytes key) noexcept;
Check check_fingerprint(const MessageView& m) noexcept;

std::uint32_t crc32(Bytes data, std::uint32_t crc = 0) noexcept;

// Constant-time equality for MACs and secrets.
bool equal_constant_time(Bytes a, Bytes b) noexcept;

}  // namespace tern::protocol
