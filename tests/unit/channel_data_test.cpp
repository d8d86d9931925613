// ChannelData parsing (RFC 8656 §12.4) and stream framing with next_frame_size (§12.5).
#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/stream.hpp"
#include "vectors/vector_file.hpp"

namespace tern {
namespace {

using namespace protocol;
using Buf = std::vector<std::uint8_t>;
using boost::system::error_code;

Buf hex(std::string_view text) { return tern::testing::hex_bytes(text); }

template <class R>
error_code error_of(const R& r) {
  return r ? error_code{} : r.error();
}

// RFC 5769 §2.1's header with a zero-length body: a complete 20-byte Binding request.
const Buf kBinding = hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87dfae");

TEST(ChannelData, Parses) {
  const Buf d = hex("4001 0004 01020304");
  const auto cd = parse_channel_data(d);
  ASSERT_TRUE(cd) << cd.error().message();
  EXPECT_EQ(cd->channel, 0x4001);
  EXPECT_EQ(Buf(cd->payload.begin(), cd->payload.end()), hex("01020304"));
  EXPECT_EQ(cd->payload.data(), d.data() + 4);
}

TEST(ChannelData, ChannelRangeEdges) {
  EXPECT_EQ(parse_channel_data(hex("4000 0000"))->channel, 0x4000);
  EXPECT_EQ(parse_channel_data(hex("4fff 0000"))->channel, 0x4FFF);
  const error_code not_cd = make_error_code(Error::kNotChannelData);
  for (const char* bad : {"5000 0004 01020304", "3fff 0000", "ffff 0000", "0001 0000"}) {
    EXPECT_EQ(error_of(parse_channel_data(hex(bad))), not_cd) << bad;
  }
}

TEST(ChannelData, TruncatedIsRejected) {
  const error_code truncated = make_error_code(Error::kTruncated);
  for (const char* bad :
       {"", "40", "4001 00", "4001 0064 00000000 00000000", "4001 0005 01020304"}) {
    EXPECT_EQ(error_of(parse_channel_data(hex(bad))), truncated) << bad;
  }
}

TEST(ChannelData, ZeroLengthAndTrailingPadding) {
  const Buf zero = hex("4001 0000");
  const auto empty = parse_channel_data(zero);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->payload.empty());
  const Buf with_padding = hex("4001 0003 aabbcc 00");  // padding ignored
  const auto padded = parse_channel_data(with_padding);
  ASSERT_TRUE(padded);
  EXPECT_EQ(Buf(padded->payload.begin(), padded->payload.end()), hex("aabbcc"));
}

TEST(ChannelData, WritesHeader) {
  Buf out(4);
  write_channel_data_header(out.data(), 0x4abc, 0x0105);
  EXPECT_EQ(out, hex("4abc 0105"));
}

TEST(ChannelData, StreamPaddingSizes) {
  EXPECT_EQ(channel_data_stream_size(0), 4u);
  EXPECT_EQ(channel_data_stream_size(1), 8u);
  EXPECT_EQ(channel_data_stream_size(3), 8u);
  EXPECT_EQ(channel_data_stream_size(4), 8u);
  EXPECT_EQ(channel_data_stream_size(5), 12u);
  EXPECT_EQ(channel_data_stream_size(547), 552u);
  EXPECT_EQ(channel_data_stream_size(65535), 65540u);
}

TEST(Stream, StunNeedsFourBytesThenGivesHeaderPlusLength) {
  const Buf request = hex("0001 0008 2112a442 b7e7a701 bc34d686 fa87dfae 0024 0004 6e0001ff");
  EXPECT_EQ(*next_frame_size({}), 0u);
  for (std::size_t n = 1; n < 4; ++n) EXPECT_EQ(*next_frame_size(Bytes(request).first(n)), 0u) << n;
  for (std::size_t n = 4; n <= request.size(); ++n) {
    EXPECT_EQ(*next_frame_size(Bytes(request).first(n)), 28u) << n;
  }
  EXPECT_EQ(*next_frame_size(kBinding), 20u);
  EXPECT_EQ(error_of(next_frame_size(hex("0001 0005"))), make_error_code(Error::kBadLength));
}

TEST(Stream, ChannelDataFramesArePadded) {
  EXPECT_EQ(*next_frame_size(hex("40")), 0u);
  EXPECT_EQ(*next_frame_size(hex("4001 00")), 0u);
  EXPECT_EQ(*next_frame_size(hex("4001 0000")), 4u);
  EXPECT_EQ(*next_frame_size(hex("4001 0001 aa")), 8u);
  EXPECT_EQ(*next_frame_size(hex("4001 0004")), 8u);
  EXPECT_EQ(*next_frame_size(hex("4001 0005 0102030405")), 12u);
}

TEST(Stream, LargestFramesFitTheBound) {
  EXPECT_EQ(*next_frame_size(hex("0001 fffc")), 65552u);  // 20 + 0xFFFC
  EXPECT_EQ(*next_frame_size(hex("4fff ffff")), 65540u);  // 4 + 0xFFFF + 1 padding byte
  EXPECT_EQ(kMaxStreamFrame, 65552u);
}

TEST(Stream, BackToBackFrames) {
  Buf stream = hex("4001 0001 aa 000000");
  stream.insert(stream.end(), kBinding.begin(), kBinding.end());
  const Bytes s(stream);
  ASSERT_EQ(*next_frame_size(s), 8u);
  EXPECT_EQ(*next_frame_size(s.subspan(8)), 20u);
  EXPECT_EQ(*next_frame_size(s.subspan(28)), 0u);
}

TEST(Stream, GarbageIsNotStun) {
  const error_code not_stun = make_error_code(Error::kNotStun);
  // RTP, DTLS, ZRTP, reserved and unassigned first bytes, with one byte or a full header.
  for (const char* bad :
       {"80", "16 fefd 00", "10 000000", "50 00 0004", "04 000000", "ff ffffff"}) {
    EXPECT_EQ(error_of(next_frame_size(hex(bad))), not_stun) << bad;
  }
}

}  // namespace
}  // namespace tern
