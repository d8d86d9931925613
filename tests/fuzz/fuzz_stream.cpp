// libFuzzer target: next_frame_size over a stream delivered whole, in two chunks split where
// byte 0 says, and one byte at a time; all three must cut the same frames.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "require.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/demux.hpp"
#include "tern/protocol/message.hpp"
#include "tern/protocol/stream.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

// A complete frame must be one the datagram parsers accept at least as far as its framing goes.
void check_frame(Bytes frame) {
  if (classify_first_byte(frame[0]) == PacketKind::kStun) {
    require(frame.size() == kHeaderSize + load_be16(frame.data() + 2));
    const auto m = MessageView::parse(frame, {.allow_classic = true});
    require(m || (m.error() != Error::kTruncated && m.error() != Error::kTopBitsSet &&
                  m.error() != Error::kBadLength));
  } else {
    const auto cd = parse_channel_data(frame);
    require(cd && channel_data_stream_size(cd->payload.size()) == frame.size());
  }
}

// What a connection does with its receive buffer: cut every complete frame, keep the rest.
struct Reader {
  std::vector<std::uint8_t> buffered;
  std::vector<std::size_t> frames;
  bool closed = false;

  void feed(Bytes chunk) {
    if (closed) return;
    buffered.insert(buffered.end(), chunk.begin(), chunk.end());
    std::size_t pos = 0;
    while (true) {
      const Bytes rest(buffered.data() + pos, buffered.size() - pos);
      const auto n = next_frame_size(rest);
      if (!n) {
        closed = true;
        break;
      }
      if (*n == 0) {  // needs the 4-byte header first
        require(rest.size() < 4);
        break;
      }
      require(*n >= 4 && *n <= kMaxStreamFrame);  // every frame moves the stream forward
      if (*n > rest.size()) break;                // incomplete: wait for more bytes
      check_frame(rest.first(*n));
      frames.push_back(*n);
      pos += *n;
    }
    buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(pos));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Bytes stream(data + 1, size - 1);
  const std::size_t split = data[0] % size;

  Reader whole, halves, bytes;
  whole.feed(stream);
  halves.feed(stream.first(split));
  halves.feed(stream.subspan(split));
  for (std::size_t i = 0; i < stream.size(); ++i) bytes.feed(stream.subspan(i, 1));

  for (const Reader* r : {&halves, &bytes}) {
    require(r->frames == whole.frames && r->closed == whole.closed);
    if (!whole.closed) require(r->buffered == whole.buffered);
  }
  std::size_t consumed = 0;
  for (std::size_t n : whole.frames) consumed += n;
  require(consumed <= stream.size());
  if (!whole.closed) require(consumed + whole.buffered.size() == stream.size());
  return 0;
}
