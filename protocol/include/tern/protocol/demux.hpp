// First-byte demultiplexing of STUN, ChannelData, DTLS, RTP/RTCP and ZRTP (RFC 7983, RFC 9443).
#pragma once

#include <cstdint>

namespace tern::protocol {

enum class PacketKind { kStun, kZrtp, kDtls, kChannelData, kRtp, kUnknown };

constexpr PacketKind classify_first_byte(std::uint8_t b) noexcept {
  if (b <= 3) return PacketKind::kStun;
  if (b >= 16 && b <= 19) return PacketKind::kZrtp;
  if (b >= 20 && b <= 63) return PacketKind::kDtls;
  if (b >= 64 && b <= 79) return PacketKind::kChannelData;
  if (b >= 128 && b <= 191) return PacketKind::kRtp;
  return PacketKind::kUnknown;
}

}  // namespace tern::protocol
