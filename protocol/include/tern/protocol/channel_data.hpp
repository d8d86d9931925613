// ChannelData messages (RFC 8656 §12.4): 16-bit channel, 16-bit length, data, padding on streams.
#pragma once

#include <cstdint>

#include "tern/protocol/message.hpp"

namespace tern::protocol {

inline constexpr std::size_t kChannelDataHeader = 4;

struct ChannelDataView {
  std::uint16_t channel = 0;
  Bytes payload;
};

// A datagram may carry trailing padding beyond 4+length (ignored); shorter is an error.
// The channel must be in 0x4000-`max_channel` (0x4FFF per RFC 8656, 0x7FFF per RFC 5766).
Result<ChannelDataView> parse_channel_data(Bytes datagram,
                                           std::uint16_t max_channel = kMaxChannel) noexcept;

// Writes the 4-byte header in front of a payload that already sits at out[4..].
void write_channel_data_header(std::uint8_t* out, std::uint16_t channel,
                               std::uint16_t length) noexcept;

// Bytes a ChannelData frame occupies on a stream transport (TCP/TLS): padded to 4.
constexpr std::size_t channel_data_stream_size(std::size_t payload) noexcept {
  return kChannelDataHeader + ((payload + 3) & ~std::size_t{3});
}

}  // namespace tern::protocol
