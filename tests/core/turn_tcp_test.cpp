// RFC 6062 TCP allocations in the core: Allocate, Connect, ConnectionAttempt, ConnectionBind.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

const TransportAddress kPeer = addr("192.0.2.10", 8080);

HarnessConfig tcp_config() {
  HarnessConfig c;
  c.options.tcp_relay = true;
  c.options.tcp_connections = {3, 0};
  c.tcp = std::make_shared<core::TcpConnectionTable>();
  c.more_users = {{.name = "bob", .password = "builder", .key_hex = {}, .sha256_key_hex = {}}};
  return c;
}

AddAttributes tcp_transport(const AddAttributes& more = {}) {
  return [more](MessageBuilder& b) {
    b.add_requested_transport(protocol::kProtocolTcp);
    if (more) more(b);
  };
}

AddAttributes peer_address(const TransportAddress& peer) {
  return [peer](MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, peer); };
}

AddAttributes connection_id(core::ConnectionId id) {
  return [id](MessageBuilder& b) { b.add_u32(attr::kConnectionId, id); };
}

std::uint32_t id_of(const Reply& r) {
  auto v = r.raw(attr::kConnectionId);
  if (v.size() != 4) return 0;
  return (std::uint32_t{v[0]} << 24) | (std::uint32_t{v[1]} << 16) | (std::uint32_t{v[2]} << 8) |
         v[3];
}

// A client with a TCP allocation on its control connection.
struct TcpClient {
  explicit TcpClient(Harness& harness, std::uint16_t port = 40000)
      : h(harness), control(harness, flow("192.0.2.50", port, core::Transport::kTcp)) {
    control.challenge();
    allocation = control.request(Method::kAllocate, tcp_transport());
  }
  // Connect to `peer`; the answer once the network layer reports `ok`.
  Reply connect(const TransportAddress& peer, bool ok = true) {
    const std::size_t before = h.relays.connects.size();
    Reply r = control.request(Method::kConnect, peer_address(peer));
    if (!r.empty() || h.relays.connects.size() != before + 1) return r;
    const std::size_t sent = h.out.sent.size();
    h.server->tcp_connected(h.relays.connects.back().id, ok, h.clock.now, h.out);
    return sent < h.out.sent.size() ? Reply{h.out.sent.back().bytes} : Reply{};
  }
  // A new connection from the same host that signs with the control connection's nonce, and
  // (`retry`) signs again with a nonce of its own when that is not good for this connection.
  Reply bind(core::ConnectionId id, std::uint16_t port = 41000, bool retry = true) {
    TurnClient data(h, flow("192.0.2.50", port, core::Transport::kTcp));
    data.set_nonce(control.nonce());
    Reply r = data.request(Method::kConnectionBind, connection_id(id));
    if (!retry || r.error() != 438) return r;
    data.learn(r);
    return data.request(Method::kConnectionBind, connection_id(id));
  }
  Harness& h;
  TurnClient control;
  Reply allocation;
};

TEST(TcpAllocationTest, OffByDefaultIs442) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  c.challenge();
  EXPECT_EQ(c.request(Method::kAllocate, tcp_transport()).error(), 442);
}

TEST(TcpAllocationTest, AllocatesATcpRelay) {
  Harness h(tcp_config());
  TcpClient c(h);
  ASSERT_TRUE(c.allocation.success()) << c.allocation.error();
  EXPECT_EQ(h.relays.tcp_opened.size(), 1u);
  EXPECT_TRUE(c.allocation.address(attr::kXorRelayedAddress).has_value());
  EXPECT_FALSE(c.allocation.has(attr::kReservationToken));
}

TEST(TcpAllocationTest, OverUdpOrWithUdpOnlyAttributesIs400) {
  Harness h(tcp_config());
  TurnClient udp(h, flow("192.0.2.50", 40000));
  udp.challenge();
  EXPECT_EQ(udp.request(Method::kAllocate, tcp_transport()).error(), 400);
  TurnClient dtls(h, flow("192.0.2.51", 40000, core::Transport::kDtls));  // RFC 7350 §4.6
  dtls.challenge();
  EXPECT_EQ(dtls.request(Method::kAllocate, tcp_transport()).error(), 400);
  const std::vector<AddAttributes> udp_only = {
      [](MessageBuilder& b) { b.add_even_port(false); },
      [](MessageBuilder& b) { b.add(attr::kReservationToken, bytes("12345678")); },
      [](MessageBuilder& b) { b.add(attr::kDontFragment, {}); },
      [](MessageBuilder& b) {
        b.add_address_family(attr::kAdditionalAddressFamily, Family::kIPv6);
      }};
  std::uint16_t port = 40001;
  for (const auto& extra : udp_only) {
    TurnClient c(h, flow("192.0.2.50", port++, core::Transport::kTcp));
    c.challenge();
    EXPECT_EQ(c.request(Method::kAllocate, tcp_transport(extra)).error(), 400);
  }
  EXPECT_TRUE(h.relays.tcp_opened.empty());
}

TEST(TcpAllocationTest, ConnectAnswersWithAConnectionIdOnceConnected) {
  Harness h(tcp_config());
  TcpClient c(h);
  Reply pending = c.control.request(Method::kConnect, peer_address(kPeer));
  EXPECT_TRUE(pending.empty());  // nothing until the TCP handshake with the peer is done
  ASSERT_EQ(h.relays.connects.size(), 1u);
  const auto connect = h.relays.connects[0];
  EXPECT_EQ(connect.peer, kPeer);
  EXPECT_EQ(connect.relay, h.relays.tcp_opened[0]);
  ASSERT_TRUE(h.server->tcp_connected(connect.id, true, h.clock.now, h.out));
  Reply r{h.out.sent.back().bytes};
  EXPECT_EQ(h.out.sent.back().flow, c.control.five_tuple());
  EXPECT_EQ(r.type(), 0x010A);
  EXPECT_EQ(id_of(r), connect.id);
  EXPECT_TRUE(c.control.verified(r));
  EXPECT_EQ(r.view()->transaction_id(), c.control.last_tid);
}

TEST(TcpAllocationTest, FailedConnectIs447) {
  Harness h(tcp_config());
  TcpClient c(h);
  Reply r = c.connect(kPeer, false);
  EXPECT_EQ(r.type(), 0x011A);
  EXPECT_EQ(r.error(), 447);
  EXPECT_TRUE(c.control.verified(r));
  EXPECT_TRUE(c.connect(kPeer).success());  // the failed one does not count as existing
}

TEST(TcpAllocationTest, ConnectErrors) {
  Harness h(tcp_config());
  TcpClient c(h);
  EXPECT_EQ(c.control.request(Method::kConnect).error(), 400);  // no XOR-PEER-ADDRESS
  EXPECT_EQ(c.connect(addr("127.0.0.1", 6379)).error(), 403);   // denied: no SYN
  EXPECT_EQ(c.connect(addr("169.254.169.254", 80)).error(), 403);
  EXPECT_EQ(c.connect(addr("0.0.0.0", 80)).error(), 403);
  EXPECT_EQ(c.connect(addr("2001:db8::5", 80)).error(), 443);  // no IPv6 relay
  EXPECT_TRUE(h.relays.connects.empty());
  // A second Connect to a peer whose first is still being opened: 446 at once.
  EXPECT_TRUE(c.control.request(Method::kConnect, peer_address(kPeer)).empty());
  EXPECT_EQ(c.control.request(Method::kConnect, peer_address(kPeer)).error(), 446);
  ASSERT_TRUE(h.server->tcp_connected(h.relays.connects.back().id, true, h.clock.now, h.out));
  EXPECT_EQ(c.connect(kPeer).error(), 446);  // one connection per peer (RFC 6062 §5.2)
  EXPECT_TRUE(c.connect(addr("192.0.2.11", 80)).success());
  EXPECT_TRUE(c.connect(addr("192.0.2.12", 80)).success());
  EXPECT_EQ(c.connect(addr("192.0.2.13", 80)).error(), 508);  // tcp_connections_per_allocation 3
}

TEST(TcpAllocationTest, ConnectRefusesLoopbackInEveryIpv6Form) {
  // The forms of 127.0.0.1 an IPv6 relay could reach (coturn CVE-2020-26262 was this path):
  // 403 each, and no SYN leaves.
  HarnessConfig config = tcp_config();
  config.ipv6 = true;
  Harness h(config);
  TurnClient control(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  control.challenge();
  ASSERT_TRUE(control
                  .request(Method::kAllocate, tcp_transport([](MessageBuilder& b) {
                             b.add_address_family(attr::kRequestedAddressFamily, Family::kIPv6);
                           }))
                  .success());
  for (const char* ip : {"::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "::1"}) {
    EXPECT_EQ(control.request(Method::kConnect, peer_address(addr(ip, 80))).error(), 403) << ip;
  }
  EXPECT_TRUE(h.relays.connects.empty());
}

TEST(TcpAllocationTest, ConnectNeedsAuthenticationAndATcpAllocation) {
  Harness h(tcp_config());
  TcpClient c(h);
  TurnClient anonymous(h, c.control.five_tuple());
  Reply unsigned_connect =
      anonymous.send(anonymous.build(Method::kConnect, MessageClass::kRequest,
                                     TurnClient::next_tid(), peer_address(kPeer), false));
  EXPECT_EQ(unsigned_connect.error(), 401);
  TurnClient udp(h, flow("192.0.2.60", 40000, core::Transport::kTcp));
  udp.login_and_allocate();
  EXPECT_EQ(udp.request(Method::kConnect, peer_address(kPeer)).error(), 400);
  TurnClient none(h, flow("192.0.2.61", 40000, core::Transport::kTcp));
  none.challenge();
  EXPECT_EQ(none.request(Method::kConnect, peer_address(kPeer)).error(), 437);
  EXPECT_TRUE(h.relays.connects.empty());
}

TEST(TcpAllocationTest, ConnectionBindHandsTheConnectionToANewClientConnection) {
  Harness h(tcp_config());
  TcpClient c(h);
  const auto id = id_of(c.connect(kPeer));
  Reply r = c.bind(id, 41000, false);  // the control connection's nonce is good here
  EXPECT_EQ(r.type(), 0x010B);
  ASSERT_EQ(h.relays.binds.size(), 1u);
  EXPECT_EQ(h.relays.binds[0].first, id);
  EXPECT_EQ(h.relays.binds[0].second, flow("192.0.2.50", 41000, core::Transport::kTcp));
  EXPECT_EQ(c.bind(id, 41001).error(), 400);  // bound already
}

TEST(TcpAllocationTest, ConnectionBindRefusals) {
  Harness h(tcp_config());
  TcpClient c(h);
  const auto id = id_of(c.connect(kPeer));
  EXPECT_EQ(c.bind(id + 1).error(), 400);  // unknown
  // Another user with a valid login of their own cannot take alice's connection.
  TurnClient mallory(h, flow("192.0.2.66", 40000, core::Transport::kTcp), "bob", "builder");
  mallory.challenge();
  EXPECT_EQ(mallory.request(Method::kConnectionBind, connection_id(id)).error(), 400);
  // Not over UDP, and not on the control connection itself.
  TurnClient udp(h, flow("192.0.2.50", 40000));
  udp.challenge();
  EXPECT_EQ(udp.request(Method::kConnectionBind, connection_id(id)).error(), 400);
  EXPECT_EQ(c.control.request(Method::kConnectionBind, connection_id(id)).error(), 400);
  EXPECT_TRUE(h.relays.binds.empty());
  EXPECT_TRUE(c.bind(id).success());  // alice still can
}

TEST(TcpAllocationTest, UnboundConnectionsCloseAfterThirtySeconds) {
  Harness h(tcp_config());
  TcpClient c(h);
  const auto id = id_of(c.connect(kPeer));
  h.clock.advance(29s);
  h.sweep();
  EXPECT_TRUE(h.relays.closed_connections.empty());
  h.clock.advance(2s);
  h.sweep();
  EXPECT_EQ(h.relays.closed_connections, std::vector<core::ConnectionId>{id});
  EXPECT_EQ(c.bind(id).error(), 400);
}

TEST(TcpAllocationTest, PeerConnectionsNeedAPermission) {
  Harness h(tcp_config());
  TcpClient c(h);
  const core::RelayId relay = h.relays.tcp_opened[0];
  const std::size_t sent = h.out.sent.size();
  EXPECT_EQ(h.server->tcp_peer_connected(relay, kPeer, h.clock.now, h.out), 0u);
  EXPECT_EQ(h.out.sent.size(), sent);
  ASSERT_TRUE(c.control.create_permission({kPeer}).success());
  const auto id = h.server->tcp_peer_connected(relay, kPeer, h.clock.now, h.out);
  ASSERT_NE(id, 0u);
  Reply attempt{h.out.sent.back().bytes};
  EXPECT_EQ(h.out.sent.back().flow, c.control.five_tuple());
  EXPECT_EQ(attempt.type(), 0x001C);
  EXPECT_EQ(attempt.address(attr::kXorPeerAddress), kPeer);
  EXPECT_EQ(id_of(attempt), id);
  EXPECT_TRUE(c.bind(id).success());
}

TEST(TcpAllocationTest, EndingTheAllocationClosesItsConnections) {
  Harness h(tcp_config());
  TcpClient c(h);
  const auto first = id_of(c.connect(kPeer));
  const auto second = id_of(c.connect(addr("192.0.2.11", 80)));
  ASSERT_TRUE(c.bind(first).success());
  ASSERT_TRUE(c.control.refresh(0).success());
  auto closed = h.relays.closed_connections;
  std::sort(closed.begin(), closed.end());
  auto expected = std::vector<core::ConnectionId>{first, second};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(closed, expected);
}

TEST(TcpAllocationTest, NoChannelsOrSendOnATcpAllocation) {
  Harness h(tcp_config());
  TcpClient c(h);
  EXPECT_EQ(c.control.channel_bind(0x4000, kPeer).error(), 400);
  ASSERT_TRUE(c.control.create_permission({kPeer}).success());
  c.control.send_indication(kPeer, bytes("x"));
  EXPECT_TRUE(h.out.to_peers.empty());
}

TEST(TcpConnectionTableTest, IdsAreUniqueAndLimitsHold) {
  core::TcpConnectionTable table;
  const core::TimePoint later = core::TimePoint(100s);
  std::set<core::ConnectionId> ids;
  for (std::uint16_t port = 1; port <= 50; ++port) {
    auto r = table.reserve({1, "alice", kPeer}, addr("192.0.2.10", port), true, {}, {0, 50});
    ASSERT_NE(r.id, 0u);
    ids.insert(r.id);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(table.reserve({2, "bob", kPeer}, kPeer, false, later, {0, 50}).refusal,
            core::TcpConnectionTable::Refusal::kLimit);
  EXPECT_EQ(table.end_session(1).size(), 50u);
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace tern::test
