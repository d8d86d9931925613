// PeerDemux: a shared relay socket's peers belong to the allocation that sent to them first,
// a peer IP only one allocation knows goes to it, and closing an allocation frees its peers.
#include "net/peer_demux.hpp"

#include <gtest/gtest.h>

namespace tern::net {
namespace {

using protocol::TransportAddress;
constexpr auto kStart = core::TimePoint{} + std::chrono::hours(1);

TransportAddress peer(std::uint8_t last, std::uint16_t port) {
  return TransportAddress::v4(0x0A000000u | last, port);
}

TEST(PeerDemux, APeerBelongsToTheFirstRelayThatSendsToIt) {
  PeerDemux d;
  EXPECT_FALSE(d.owner(peer(1, 5000)));
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart));
  EXPECT_EQ(d.owner(peer(1, 5000)), 7u);
  EXPECT_TRUE(d.claim(7, peer(1, 5000), kStart + std::chrono::seconds(1)));
  EXPECT_FALSE(d.claim(8, peer(1, 5000), kStart + std::chrono::seconds(2)));
  EXPECT_EQ(d.owner(peer(1, 5000)), 7u);
  EXPECT_EQ(d.peers(), 1u);
}

TEST(PeerDemux, APeerLeftIdleForAPermissionsLifetimeMayBeTakenOver) {
  PeerDemux d;
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart));
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart + std::chrono::seconds(100)));
  // 299 s after relay 7's last send: still its own.
  EXPECT_FALSE(d.claim(8, peer(1, 5000), kStart + std::chrono::seconds(399)));
  EXPECT_TRUE(d.claim(8, peer(1, 5000), kStart + std::chrono::seconds(400)));
  EXPECT_EQ(d.owner(peer(1, 5000)), 8u);
  EXPECT_FALSE(d.claim(7, peer(1, 5000), kStart + std::chrono::seconds(401)));
  EXPECT_EQ(d.peers(), 1u);
}

TEST(PeerDemux, AnotherPortOfAPeerIpGoesToTheOnlyRelayThatKnowsTheIp) {
  PeerDemux d;
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart));
  ASSERT_TRUE(d.claim(7, peer(1, 5001), kStart));
  EXPECT_EQ(d.owner(peer(1, 6000)), 7u);  // say, a peer's answer from another port
  EXPECT_FALSE(d.owner(peer(2, 5000)));
  ASSERT_TRUE(d.claim(8, peer(1, 7000), kStart));
  EXPECT_FALSE(d.owner(peer(1, 6000)));  // two relays know the IP: nobody's
  EXPECT_EQ(d.owner(peer(1, 5000)), 7u);
  EXPECT_EQ(d.owner(peer(1, 7000)), 8u);
  d.release(8);
  EXPECT_EQ(d.owner(peer(1, 6000)), 7u);
}

TEST(PeerDemux, ReleasingARelayFreesItsPeers) {
  PeerDemux d;
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart));
  ASSERT_TRUE(d.claim(7, peer(2, 5000), kStart));
  ASSERT_TRUE(d.claim(8, peer(3, 5000), kStart));
  d.release(7);
  EXPECT_FALSE(d.owner(peer(1, 5000)));
  EXPECT_FALSE(d.owner(peer(2, 9999)));
  EXPECT_EQ(d.owner(peer(3, 5000)), 8u);
  EXPECT_EQ(d.peers(), 1u);
  EXPECT_TRUE(d.claim(9, peer(1, 5000), kStart));
  EXPECT_EQ(d.owner(peer(1, 5000)), 9u);
  d.release(7);  // twice: nothing
  EXPECT_EQ(d.peers(), 2u);
}

TEST(PeerDemux, ARelayHasAtMostItsShareOfPeers) {
  PeerDemux d;
  for (std::size_t i = 0; i < PeerDemux::kMaxPeersPerRelay; ++i) {
    ASSERT_TRUE(d.claim(7, peer(1, static_cast<std::uint16_t>(1000 + i)), kStart));
  }
  EXPECT_FALSE(d.claim(7, peer(1, 9000), kStart));
  EXPECT_TRUE(d.claim(7, peer(1, 1000), kStart));  // one it has
  EXPECT_TRUE(d.claim(8, peer(1, 9000), kStart));  // another relay is not held back
  EXPECT_EQ(d.peers(), PeerDemux::kMaxPeersPerRelay + 1);
}

TEST(PeerDemux, FamiliesAreApart) {
  PeerDemux d;
  TransportAddress v6 = peer(1, 5000);
  v6.family = protocol::Family::kIPv6;  // same bytes, other family
  ASSERT_TRUE(d.claim(7, peer(1, 5000), kStart));
  EXPECT_FALSE(d.owner(v6));
  EXPECT_TRUE(d.claim(8, v6, kStart));
  EXPECT_EQ(d.owner(v6), 8u);
  EXPECT_EQ(d.owner(peer(1, 5000)), 7u);
}

}  // namespace
}  // namespace tern::net
