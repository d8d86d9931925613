// First-byte demultiplexing (RFC 7983 §7, RFC 9443 §3): every range boundary.
#include <gtest/gtest.h>

#include <map>

#include "tern/protocol/demux.hpp"

namespace tern {
namespace {

using protocol::classify_first_byte;
using protocol::PacketKind;

TEST(Demux, RangeBoundaries) {
  const struct {
    int byte;
    PacketKind kind;
  } cases[] = {
      {0, PacketKind::kStun},         {3, PacketKind::kStun},     {4, PacketKind::kUnknown},
      {15, PacketKind::kUnknown},     {16, PacketKind::kZrtp},    {19, PacketKind::kZrtp},
      {20, PacketKind::kDtls},        {63, PacketKind::kDtls},    {64, PacketKind::kChannelData},
      {79, PacketKind::kChannelData}, {80, PacketKind::kUnknown}, {127, PacketKind::kUnknown},
      {128, PacketKind::kRtp},        {191, PacketKind::kRtp},    {192, PacketKind::kUnknown},
      {255, PacketKind::kUnknown},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify_first_byte(static_cast<std::uint8_t>(c.byte)), c.kind) << c.byte;
  }
}

TEST(Demux, RangeSizes) {
  std::map<PacketKind, int> count;
  for (int b = 0; b < 256; ++b) ++count[classify_first_byte(static_cast<std::uint8_t>(b))];
  EXPECT_EQ(count[PacketKind::kStun], 4);
  EXPECT_EQ(count[PacketKind::kZrtp], 4);
  EXPECT_EQ(count[PacketKind::kDtls], 44);
  EXPECT_EQ(count[PacketKind::kChannelData], 16);
  EXPECT_EQ(count[PacketKind::kRtp], 64);
  EXPECT_EQ(count[PacketKind::kUnknown], 124);
}

TEST(Demux, UsableAtCompileTime) {
  static_assert(classify_first_byte(0x01) == PacketKind::kStun);
  static_assert(classify_first_byte(0x40) == PacketKind::kChannelData);
  SUCCEED();
}

}  // namespace
}  // namespace tern
