// TURN permissions, Send and Data indications and the peer policy in the core (RFC 8656 §9-11).
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

const TransportAddress kPeer = addr("192.0.2.10", 5000);
constexpr core::RelayId kRelay = 1;  // the first relay the fake opens

// The Data indication a peer's datagram turned into: XOR-PEER-ADDRESS and DATA.
void expect_data_indication(const std::vector<Sent>& sent, const core::FiveTuple& client,
                            const TransportAddress& peer, std::string_view data) {
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].flow, client);
  Reply r{sent[0].bytes};
  EXPECT_EQ(r.type(), 0x0017);
  EXPECT_EQ(r.address(attr::kXorPeerAddress), peer);
  EXPECT_EQ(r.raw(attr::kData), bytes(data));
  EXPECT_FALSE(r.has(attr::kMessageIntegrity));
}

TEST(PermissionTest, WithoutPeerAddressIs400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  Reply r = c.request(Method::kCreatePermission);
  EXPECT_EQ(r.type(), 0x0118);
  EXPECT_EQ(r.error(), 400);
  EXPECT_TRUE(c.verified(r));
}

TEST(PermissionTest, SuccessIsSigned) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  Reply r = c.create_permission({kPeer, addr("192.0.2.11", 1)});
  EXPECT_EQ(r.type(), 0x0108);
  EXPECT_TRUE(r.has(attr::kMessageIntegrity));
  EXPECT_TRUE(c.verified(r));
}

TEST(PermissionTest, WithoutAllocationIs437) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  EXPECT_EQ(c.create_permission({kPeer}).error(), 437);
}

TEST(PermissionTest, DefaultDeniedPeersAre403) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate([](MessageBuilder& b) {
    b.add_address_family(attr::kAdditionalAddressFamily, Family::kIPv6);
  });
  for (const auto& peer : {addr("10.0.0.1", 80), addr("127.0.0.1", 80), addr("169.254.169.254", 80),
                           addr("::ffff:127.0.0.1", 80), addr("::1", 80), addr("0.0.0.0", 80)}) {
    EXPECT_EQ(c.create_permission({peer}).error(), 403) << peer.to_string();
  }
  // All or nothing: one denied address fails the request and installs nothing.
  EXPECT_EQ(c.create_permission({kPeer, addr("10.0.0.1", 80)}).error(), 403);
  EXPECT_TRUE(h.from_peer(kRelay, kPeer, bytes("x")).empty());
}

TEST(PermissionTest, DocumentationRangeDeniedByTheDefaultPolicy) {
  Harness h({.allow_documentation = false});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_EQ(c.create_permission({kPeer}).error(), 403);
  EXPECT_EQ(c.channel_bind(0x4000, kPeer).error(), 403);
}

TEST(PermissionTest, Ipv6PeerOnIpv4AllocationIs443) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_EQ(c.create_permission({addr("2001:db8:1::10", 5000)}).error(), 443);
  EXPECT_EQ(c.channel_bind(0x4000, addr("2001:db8:1::10", 5000)).error(), 443);
  // An IPv4-mapped loopback is refused one way or the other (443 here, 403 on a dual allocation).
  EXPECT_FALSE(c.create_permission({addr("::ffff:127.0.0.1", 80)}).success());
}

TEST(PermissionTest, TooManyPermissionsIs508) {
  core::ServerOptions options = default_options();
  options.permissions_per_allocation = 2;
  Harness h({.options = options});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_TRUE(c.create_permission({addr("192.0.2.1", 1), addr("192.0.2.2", 1)}).success());
  EXPECT_EQ(c.create_permission({addr("192.0.2.3", 1)}).error(), 508);
  // Refreshing an installed one (any port: permissions are per IP) still works.
  EXPECT_TRUE(c.create_permission({addr("192.0.2.1", 9)}).success());
  // Once they expire there is room again.
  h.clock.advance(301s);
  EXPECT_TRUE(c.create_permission({addr("192.0.2.3", 1)}).success());
}

TEST(PermissionTest, PeerDataFlowsFor300SecondsAndDataDoesNotRefresh) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_TRUE(h.from_peer(kRelay, kPeer, bytes("early")).empty());
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  expect_data_indication(h.from_peer(kRelay, kPeer, bytes("hello")), c.five_tuple(), kPeer,
                         "hello");
  // Another port of the same IP is covered too.
  const TransportAddress other_port = addr("192.0.2.10", 6000);
  expect_data_indication(h.from_peer(kRelay, other_port, bytes("p2")), c.five_tuple(), other_port,
                         "p2");

  h.clock.advance(200s);
  EXPECT_EQ(h.from_peer(kRelay, kPeer, bytes("a")).size(), 1u);
  c.send_indication(kPeer, bytes("b"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  h.clock.advance(99s);  // 299 s
  EXPECT_EQ(h.from_peer(kRelay, kPeer, bytes("c")).size(), 1u);
  h.clock.advance(2s);  // 301 s: gone, although data flowed both ways
  EXPECT_TRUE(h.from_peer(kRelay, kPeer, bytes("d")).empty());
  c.send_indication(kPeer, bytes("e"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
}

TEST(TurnDataTest, SendIndicationNeedsAPermission) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  const std::size_t replies = h.out.sent.size();
  c.send_indication(kPeer, bytes("nope"));
  EXPECT_TRUE(h.out.to_peers.empty());
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kNoPermission), 1u);

  ASSERT_TRUE(c.create_permission({kPeer}).success());
  const std::size_t after_permission = h.out.sent.size();
  c.send_indication(kPeer, bytes("payload"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].relay, kRelay);
  EXPECT_EQ(h.out.to_peers[0].peer, kPeer);
  EXPECT_EQ(h.out.to_peers[0].bytes, bytes("payload"));
  // Indications are never answered.
  EXPECT_EQ(h.out.sent.size(), after_permission);
  EXPECT_EQ(replies + 1, after_permission);
  // An empty DATA is still a datagram.
  c.send_indication(kPeer, {});
  ASSERT_EQ(h.out.to_peers.size(), 2u);
  EXPECT_TRUE(h.out.to_peers[1].bytes.empty());
}

TEST(TurnDataTest, SendIndicationWithoutDataOrPeerOrAllocationIsDropped) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  c.send_indication(kPeer, bytes("no allocation"));
  c.allocate();
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  c.send(c.build(
      Method::kSend, MessageClass::kIndication, c.next_tid(),
      [](MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, kPeer); }, false));
  c.send(c.build(
      Method::kSend, MessageClass::kIndication, c.next_tid(),
      [](MessageBuilder& b) { b.add(attr::kData, bytes("x")); }, false));
  EXPECT_TRUE(h.out.to_peers.empty());
}

TEST(TurnDataTest, PeerDataBecomesADataIndicationOnlyWithAPermission) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  const std::vector<std::uint8_t> payload = {0x00, 0x01, 0xFF, 0x7E, 0x40};
  auto sent = h.from_peer(kRelay, kPeer, payload);
  ASSERT_EQ(sent.size(), 1u);
  Reply r{sent[0].bytes};
  EXPECT_EQ(r.type(), 0x0017);
  EXPECT_EQ(r.address(attr::kXorPeerAddress), kPeer);
  EXPECT_EQ(r.raw(attr::kData), payload);
  EXPECT_EQ(h.server->stats().client_sent.packets.get(), 1u);

  EXPECT_TRUE(h.from_peer(kRelay, addr("192.0.2.99", 5000), payload).empty());
  EXPECT_TRUE(h.from_peer(kRelay + 7, kPeer, payload).empty());  // not our relay
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kNoPermission), 1u);
}

TEST(TurnDataTest, IcmpFromAPermittedPeerIsReportedInADataIndication) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  h.server->handle_peer_icmp(kRelay, kPeer, 3, 3, 0, h.clock.now, h.out);
  const std::size_t before = h.out.sent.size();
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  ASSERT_EQ(h.out.sent.size(), before + 1);  // nothing for the ICMP without a permission
  h.server->handle_peer_icmp(kRelay, kPeer, 3, 4, 1400, h.clock.now, h.out);
  ASSERT_EQ(h.out.sent.size(), before + 2);
  Reply r{h.out.sent.back().bytes};
  EXPECT_EQ(r.type(), 0x0017);
  EXPECT_EQ(r.address(attr::kXorPeerAddress), kPeer);
  EXPECT_FALSE(r.has(attr::kData));
  auto icmp = protocol::decode_icmp(r.raw(attr::kIcmp));
  ASSERT_TRUE(icmp);
  EXPECT_EQ(icmp->type, 3);
  EXPECT_EQ(icmp->code, 4);
  EXPECT_EQ(icmp->error_data, 1400u);
}

TEST(TurnPolicyTest, LiveRelayOfThisServerIsAReachablePeer) {
  Harness h;
  TurnClient a(h, flow("192.0.2.50", 40000));
  TurnClient b(h, flow("192.0.2.60", 41000));
  auto relay_a = a.login_and_allocate().address(attr::kXorRelayedAddress);
  auto relay_b = b.login_and_allocate().address(attr::kXorRelayedAddress);
  ASSERT_TRUE(relay_a && relay_b);
  // 198.51.100.0/24 is in the default deny list, but these are tern's own live relays.
  EXPECT_TRUE(a.create_permission({*relay_b}).success());
  EXPECT_TRUE(b.channel_bind(0x4000, *relay_a).success());
  a.send_indication(*relay_b, bytes("to b"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, *relay_b);

  // The same IP on a port that is not a live relay stays forbidden.
  TransportAddress service = *relay_b;
  service.port = 8080;
  EXPECT_EQ(a.create_permission({service}).error(), 403);
  EXPECT_EQ(a.channel_bind(0x4001, service).error(), 403);
  // The permission for relay_b's IP does not open the other port for Send either.
  a.send_indication(service, bytes("admin"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kDeniedPeer), 3u);

  // Once b's allocation is gone its address is just a denied address again.
  ASSERT_TRUE(b.refresh(0).success());
  a.send_indication(*relay_b, bytes("late"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(a.create_permission({*relay_b}).error(), 403);
}

// A media server (an SFU) on tern's own relay address: opened only by an allow entry that names
// its ports, and tern's own ports (listeners, relay range) stay closed whatever the entry says.
TEST(TurnPolicyTest, AllowEntryWithPortsOpensAServiceOnTernsOwnAddress) {
  Harness h({.allow = {"198.51.100.1:6000-6010", "198.51.100.1:3478", "198.51.100.1:50900"}});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  const TransportAddress sfu = FakeRelays::v4_ip(6000);
  // CreatePermission's port does not matter (RFC 8656 §9.1): the IP has allowed ports.
  EXPECT_TRUE(c.create_permission({FakeRelays::v4_ip(1)}).success());
  EXPECT_TRUE(c.channel_bind(0x4000, sfu).success());
  c.send_indication(FakeRelays::v4_ip(6010), bytes("media"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, FakeRelays::v4_ip(6010));
  // A port the entry does not name stays closed...
  EXPECT_EQ(c.channel_bind(0x4001, FakeRelays::v4_ip(6011)).error(), 403);
  c.send_indication(FakeRelays::v4_ip(22), bytes("ssh"));
  // ...and so do tern's own ports, even when named: a listener and the relay range.
  EXPECT_EQ(c.channel_bind(0x4002, FakeRelays::v4_ip(3478)).error(), 403);
  EXPECT_EQ(c.channel_bind(0x4003, FakeRelays::v4_ip(50900)).error(), 403);
  c.send_indication(FakeRelays::v4_ip(3478), bytes("loop"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kDeniedPeer), 5u);
}

TEST(TurnPolicyTest, AllowEntryWithoutPortsNeverOpensTernsOwnAddress) {
  Harness h({.allow = {"198.51.100.0/24"}});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_EQ(c.create_permission({FakeRelays::v4_ip(6000)}).error(), 403);
  EXPECT_EQ(c.channel_bind(0x4000, FakeRelays::v4_ip(6000)).error(), 403);
  // Other addresses of that range are ordinary allowed peers.
  EXPECT_TRUE(c.channel_bind(0x4001, addr("198.51.100.2", 6000)).success());
}

TEST(TurnPolicyTest, PortedAllowEntryLimitsOtherPeersToItsPorts) {
  Harness h({.allow = {"10.1.2.3:5000-5001"}});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  EXPECT_TRUE(c.create_permission({addr("10.1.2.3", 9)}).success());
  EXPECT_TRUE(c.channel_bind(0x4000, addr("10.1.2.3", 5001)).success());
  EXPECT_EQ(c.channel_bind(0x4001, addr("10.1.2.3", 5002)).error(), 403);
  EXPECT_EQ(c.create_permission({addr("10.1.2.4", 5000)}).error(), 403);
}

TEST(TurnPolicyTest, ChannelToAnotherClientsRelayStopsWhenThatRelayCloses) {
  Harness h;
  TurnClient a(h, flow("192.0.2.50", 40000));
  TurnClient b(h, flow("192.0.2.60", 41000));
  auto relay_a = a.login_and_allocate().address(attr::kXorRelayedAddress);
  b.login_and_allocate();
  ASSERT_TRUE(relay_a);
  ASSERT_TRUE(b.channel_bind(0x4000, *relay_a).success());
  b.channel_data(0x4000, bytes("hi a"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, *relay_a);
  ASSERT_TRUE(a.refresh(0).success());
  b.channel_data(0x4000, bytes("gone"));
  EXPECT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kDeniedPeer), 1u);
}

}  // namespace
}  // namespace tern::test
