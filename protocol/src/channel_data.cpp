// ChannelData parsing and header writing (RFC 8656 §12.4).
#include "tern/protocol/channel_data.hpp"

#include "tern/protocol/bytes.hpp"

namespace tern::protocol {

Result<ChannelDataView> parse_channel_data(Bytes d, std::uint16_t max_channel) noexcept {
  if (d.size() < kChannelDataHeader) return Error::kTruncated;
  const std::uint16_t channel = load_be16(d.data());
  if (channel < kMinChannel || channel > max_channel) return Error::kNotChannelData;
  const std::size_t length = load_be16(d.data() + 2);
  if (length > d.size() - kChannelDataHeader) return Error::kTruncated;
  return ChannelDataView{channel, d.subspan(kChannelDataHeader, length)};
}

void write_channel_data_header(std::uint8_t* out, std::uint16_t channel,
                               std::uint16_t length) noexcept {
  store_be16(out, channel);
  store_be16(out + 2, length);
}

}  // namespace tern::protocol
