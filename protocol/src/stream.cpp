// Frame boundaries on TCP/TLS: STUN is 20 + length, ChannelData 4 + length padded to 4.
#include "tern/protocol/stream.hpp"

#include "tern/protocol/bytes.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/demux.hpp"

namespace tern::protocol {

Result<std::size_t> next_frame_size(Bytes b, std::uint16_t max_channel) noexcept {
  if (b.empty()) return std::size_t{0};
  PacketKind kind = classify_first_byte(b[0]);
  if (b[0] >= 0x40 && b[0] <= (max_channel >> 8)) kind = PacketKind::kChannelData;
  if (kind != PacketKind::kStun && kind != PacketKind::kChannelData) return Error::kNotStun;
  if (b.size() < 4) return std::size_t{0};
  const std::size_t length = load_be16(b.data() + 2);
  if (kind == PacketKind::kStun) {
    if (length % 4 != 0) return Error::kBadLength;
    return kHeaderSize + length;
  }
  if (load_be16(b.data()) > max_channel) return Error::kNotChannelData;
  return kChannelDataHeader + padded4(length);
}

}  // namespace tern::protocol
