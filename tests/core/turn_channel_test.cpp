// TURN ChannelBind and ChannelData in the core (RFC 8656 §12): numbers, lifetimes, padding.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

const TransportAddress kPeerA = addr("192.0.2.10", 5000);
const TransportAddress kPeerB = addr("192.0.2.11", 5000);
constexpr core::RelayId kRelay = 1;

// What the client got for a peer datagram, if it was a ChannelData message.
struct Frame {
  std::uint16_t channel = 0;
  std::uint16_t length = 0;
  std::vector<std::uint8_t> raw;
};
Frame frame(const Sent& s) {
  Frame f;
  f.raw = s.bytes;
  if (s.bytes.size() >= 4) {
    f.channel = static_cast<std::uint16_t>(s.bytes[0] << 8 | s.bytes[1]);
    f.length = static_cast<std::uint16_t>(s.bytes[2] << 8 | s.bytes[3]);
  }
  return f;
}

TEST(ChannelBindTest, NumbersOutside4000To4FFFAre400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  for (int n : {0x0000, 0x3FFF, 0x5000, 0x7FFE, 0xFFFF}) {
    Reply r = c.channel_bind(static_cast<std::uint16_t>(n), kPeerA);
    EXPECT_EQ(r.error(), 400) << std::hex << n;
    EXPECT_TRUE(c.verified(r));
  }
  EXPECT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  EXPECT_TRUE(c.channel_bind(0x4FFF, kPeerB).success());
}

TEST(ChannelBindTest, MissingNumberOrPeerIs400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_EQ(c.request(Method::kChannelBind,
                      [](MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, kPeerA); })
                .error(),
            400);
  EXPECT_EQ(c.request(Method::kChannelBind, [](MessageBuilder& b) { b.add_channel_number(0x4000); })
                .error(),
            400);
}

TEST(ChannelBindTest, Rfc5766RangeWhenConfigured) {
  core::ServerOptions options = default_options();
  options.max_channel = protocol::kMaxChannelRfc5766;
  Harness h({.options = options});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_EQ(c.channel_bind(0x3FFF, kPeerA).error(), 400);
  EXPECT_EQ(c.channel_bind(0x8000, kPeerA).error(), 400);
  ASSERT_TRUE(c.channel_bind(0x7FFF, kPeerB).success());  // the top of RFC 5766 §11's range
  ASSERT_TRUE(c.channel_bind(0x5000, kPeerA).success());
  c.channel_data(0x5000, bytes("old client"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].bytes, bytes("old client"));
  auto sent = h.from_peer(kRelay, kPeerA, bytes("back"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(frame(sent[0]).channel, 0x5000);
}

TEST(ChannelBindTest, OneToOneBetweenNumbersAndPeers) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  EXPECT_EQ(c.channel_bind(0x4000, kPeerB).error(), 400);  // number taken by another peer
  EXPECT_EQ(c.channel_bind(0x4001, kPeerA).error(), 400);  // peer bound to another number
  // A different port is a different peer transport address.
  EXPECT_TRUE(c.channel_bind(0x4001, addr("192.0.2.10", 5001)).success());
  // The failed binds changed nothing.
  c.channel_data(0x4000, bytes("a"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, kPeerA);
}

TEST(ChannelBindTest, RebindingTheSamePairRefreshes) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate([](MessageBuilder& b) { b.add_u32(attr::kLifetime, 3600); });
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  h.clock.advance(500s);
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  h.clock.advance(550s);  // 1050 s: the first binding would be gone, the refreshed one is not
  c.challenge();
  ASSERT_TRUE(c.create_permission({kPeerA}).success());  // the permission lasts only 300 s
  c.channel_data(0x4000, bytes("still bound"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  auto sent = h.from_peer(kRelay, kPeerA, bytes("ok"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(frame(sent[0]).channel, 0x4000);
  h.clock.advance(51s);  // 1101 s: 601 s after the refresh
  c.channel_data(0x4000, bytes("expired"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  sent = h.from_peer(kRelay, kPeerA, bytes("data indication now"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(Reply{sent[0].bytes}.type(), 0x0017);
}

TEST(ChannelBindTest, ChannelBindInstallsAPermission) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  c.send_indication(addr("192.0.2.10", 7777), bytes("same IP, other port"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  // The permission lasts 300 s, the channel 600 s: ChannelData stops with the permission.
  h.clock.advance(301s);
  c.channel_data(0x4000, bytes("x"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_TRUE(h.from_peer(kRelay, kPeerA, bytes("y")).empty());
}

TEST(ChannelBindTest, ExpiredNumberIsHeldFiveMoreMinutes) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate([](MessageBuilder& b) { b.add_u32(attr::kLifetime, 3600); });
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  h.clock.advance(601s);
  h.sweep();
  c.challenge();
  EXPECT_EQ(c.channel_bind(0x4000, kPeerB).error(), 400);
  h.clock.advance(298s);  // 899 s: 298 s after expiry
  h.sweep();
  EXPECT_EQ(c.channel_bind(0x4000, kPeerB).error(), 400);
  h.clock.advance(2s);  // 901 s
  h.sweep();
  EXPECT_TRUE(c.channel_bind(0x4000, kPeerB).success());
  c.channel_data(0x4000, bytes("to b"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, kPeerB);
}

TEST(ChannelBindTest, ExpiredNumberHeldEvenWithoutSweep) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate([](MessageBuilder& b) { b.add_u32(attr::kLifetime, 3600); });
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  h.clock.advance(700s);
  c.challenge();
  EXPECT_EQ(c.channel_bind(0x4000, kPeerB).error(), 400);
  EXPECT_TRUE(c.channel_bind(0x4000, kPeerA).success());  // the same peer may have it back
}

TEST(ChannelBindTest, PeerRebindOnANewNumberAfterExpiryUsesTheNewChannel) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate([](MessageBuilder& b) { b.add_u32(attr::kLifetime, 3600); });
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  h.clock.advance(601s);  // 0x4000 expired (number held for 5 more minutes)
  c.challenge();
  ASSERT_TRUE(c.channel_bind(0x4001, kPeerA).success());
  c.channel_data(0x4001, bytes("up"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  auto sent = h.from_peer(kRelay, kPeerA, bytes("down"));
  ASSERT_EQ(sent.size(), 1u);
  // RFC 8656 §12.7: with a channel bound to the peer, ChannelData, not a Data indication.
  EXPECT_EQ(frame(sent[0]).channel, 0x4001);
  EXPECT_EQ(frame(sent[0]).length, 4u);
}

TEST(ChannelBindTest, ChannelDataBothWaysOnUdpIsUnpadded) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  c.channel_data(0x4000, bytes("hello"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].relay, kRelay);
  EXPECT_EQ(h.out.to_peers[0].peer, kPeerA);
  EXPECT_EQ(h.out.to_peers[0].bytes, bytes("hello"));

  auto sent = h.from_peer(kRelay, kPeerA, bytes("world"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].flow, c.five_tuple());
  const std::vector<std::uint8_t> expected = {0x40, 0x00, 0x00, 0x05, 'w', 'o', 'r', 'l', 'd'};
  EXPECT_EQ(sent[0].bytes, expected);

  // A zero-length payload is still a datagram.
  c.channel_data(0x4000, {});
  ASSERT_EQ(h.out.to_peers.size(), 2u);
  EXPECT_TRUE(h.out.to_peers[1].bytes.empty());
  // Other ports of the peer's IP are not the channel's peer: Data indication.
  sent = h.from_peer(kRelay, addr("192.0.2.10", 5001), bytes("z"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(Reply{sent[0].bytes}.type(), 0x0017);
}

TEST(ChannelBindTest, ChannelDataToTcpClientIsPadded) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  c.channel_data(0x4000, bytes("hello"));  // sent padded to 12 bytes
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].bytes, bytes("hello"));

  auto sent = h.from_peer(kRelay, kPeerA, bytes("world"));
  ASSERT_EQ(sent.size(), 1u);
  const std::vector<std::uint8_t> expected = {0x40, 0x00, 0x00, 0x05, 'w', 'o',
                                              'r',  'l',  'd',  0,    0,   0};
  EXPECT_EQ(sent[0].bytes, expected);
  sent = h.from_peer(kRelay, kPeerA, bytes("four"));
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].bytes.size(), 8u);
}

TEST(ChannelBindTest, ChannelDataOnAnUnboundChannelIsDropped) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.create_permission({kPeerA}).success());
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  c.channel_data(0x4001, bytes("nobody"));
  EXPECT_TRUE(h.out.to_peers.empty());
  // Without an allocation on the 5-tuple, a bound number means nothing either.
  TurnClient stranger(h, flow("192.0.2.51", 40000));
  stranger.channel_data(0x4000, bytes("spoof"));
  EXPECT_TRUE(h.out.to_peers.empty());
  EXPECT_EQ(h.out.sent.size(), 4u);  // 401, Allocate, CreatePermission, ChannelBind replies
}

TEST(ChannelBindTest, TooManyChannelsIs508) {
  core::ServerOptions options = default_options();
  options.channels_per_allocation = 2;
  Harness h({.options = options});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4000, kPeerA).success());
  ASSERT_TRUE(c.channel_bind(0x4001, kPeerB).success());
  Reply full = c.channel_bind(0x4002, addr("192.0.2.12", 5000));
  EXPECT_EQ(full.error(), 508);
  EXPECT_TRUE(c.verified(full));
  EXPECT_TRUE(c.channel_bind(0x4000, kPeerA).success());  // a refresh needs no new slot
}

}  // namespace
}  // namespace tern::test
