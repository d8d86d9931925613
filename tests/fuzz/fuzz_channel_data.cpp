// libFuzzer target: parse_channel_data, its header writer and first-byte demultiplexing.
#include <array>
#include <cstddef>
#include <cstdint>

#include "require.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/demux.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes d(data, size);
  const auto cd = parse_channel_data(d);
  const PacketKind kind = size == 0 ? PacketKind::kUnknown : classify_first_byte(data[0]);
  if (cd) {
    require(kind == PacketKind::kChannelData);
    require(cd->channel >= kMinChannel && cd->channel <= kMaxChannel);
    require(cd->channel == load_be16(data) && cd->payload.size() == load_be16(data + 2));
    require(cd->payload.data() == data + kChannelDataHeader);
    // The header writer must reproduce the bytes it was parsed from.
    std::array<std::uint8_t, kChannelDataHeader> header{};
    write_channel_data_header(header.data(), cd->channel,
                              static_cast<std::uint16_t>(cd->payload.size()));
    for (std::size_t i = 0; i < header.size(); ++i) require(header[i] == data[i]);
  } else if (size >= kChannelDataHeader && kind == PacketKind::kChannelData) {
    // A 0x40-0x4F first byte is a valid channel: only a short datagram may fail.
    require(cd.error() == Error::kTruncated && load_be16(data + 2) > size - kChannelDataHeader);
  } else if (size >= kChannelDataHeader) {
    require(cd.error() == Error::kNotChannelData);
  } else {
    require(cd.error() == Error::kTruncated);
  }
  if (size > 0) {
    // Demux agrees with the STUN header rule: the top two bits of a STUN message are zero.
    require((kind == PacketKind::kStun) == (data[0] < 4));
  }
  return 0;
}
