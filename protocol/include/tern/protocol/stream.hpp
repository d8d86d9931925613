// Splits a TCP/TLS byte stream into STUN messages and padded ChannelData frames (RFC 8656 §12.5).
#pragma once

#include <cstdint>

#include "tern/protocol/message.hpp"

namespace tern::protocol {

// The largest frame: a STUN message, 20 + 0xFFFC bytes (ChannelData peaks at 4 + 0x10000).
inline constexpr std::size_t kMaxStreamFrame = kHeaderSize + 0xFFFC;

// How many bytes the frame at the front of `buffered` occupies, padding included, as soon as
// its 4-byte header is there (the frame is complete once that many bytes are buffered); 0 when
// fewer than 4 bytes are buffered. kNotStun when the stream carries neither STUN nor ChannelData
// (the connection should be closed).
// ChannelData numbers above `max_channel` are kNotChannelData.
Result<std::size_t> next_frame_size(Bytes buffered,
                                    std::uint16_t max_channel = kMaxChannel) noexcept;

}  // namespace tern::protocol
