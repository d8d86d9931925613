// relay.offload: the channel routes the core reports (EventSink::routes), with a fake clock.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"
#include "tern/core/peer_policy.hpp"

namespace tern::test {
namespace {

const TransportAddress kPeer = addr("192.0.2.10", 5000);
const TransportAddress kOtherPeer = addr("192.0.2.11", 6000);

struct RouteLog final : core::EventSink {
  struct Report {
    std::uint64_t session = 0;
    core::FiveTuple flow;
    std::vector<core::ChannelRoute> routes;
  };
  std::vector<Report> reports;
  void allocation(core::AllocationEvent, const core::AllocationEventInfo&) override {}
  void routes(std::uint64_t session, const core::FiveTuple& flow,
              std::span<const core::ChannelRoute> routes) override {
    reports.push_back({session, flow, {routes.begin(), routes.end()}});
  }
};

// Deps for a reload with the harness's peer policy (192.0.2.0/24 allowed).
core::ServerDeps documentation_allowed() {
  core::ServerDeps deps;
  auto allowed = core::PeerPolicy::build(std::vector<std::string>{"default"},
                                         std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_TRUE(allowed.errors.empty());
  deps.peers = std::make_shared<const core::PeerPolicy>(std::move(*allowed.policy));
  return deps;
}

core::ServerOptions routes_on() {
  core::ServerOptions o = default_options();
  o.channel_routes = true;
  return o;
}

TEST(ChannelRoutesTest, ChannelBindReportsTheFirstExpiryOfBindingPermissionAndAllocation) {
  RouteLog log;
  Harness h({.options = routes_on(), .events = &log});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  const auto start = h.clock.now.steady;
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).success());
  ASSERT_FALSE(log.reports.empty());
  const auto& bound = log.reports.back();
  EXPECT_EQ(bound.flow, c.five_tuple());
  ASSERT_EQ(bound.routes.size(), 1u);
  EXPECT_EQ(bound.routes[0].channel, 0x4001);
  EXPECT_EQ(bound.routes[0].peer, kPeer);
  auto back = h.from_peer(bound.routes[0].relay, kPeer, bytes("from the peer"));
  ASSERT_EQ(back.size(), 1u);  // the route names the allocation's relay
  ASSERT_GE(back[0].bytes.size(), 4u);
  EXPECT_EQ(back[0].bytes[0], 0x40);
  EXPECT_EQ(back[0].bytes[1], 0x01);
  EXPECT_EQ(bound.routes[0].expires, start + 300s);  // the permission's 5 minutes come first

  // Refreshing the permission later moves the route's end with it, up to the binding's.
  h.clock.advance(200s);
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  ASSERT_EQ(log.reports.back().routes.size(), 1u);
  EXPECT_EQ(log.reports.back().routes[0].expires, start + 500s);
  h.clock.advance(200s);
  ASSERT_TRUE(c.refresh(3600).success());  // the allocation lasts; the binding ends at 600 s
  ASSERT_EQ(log.reports.back().routes.size(), 1u);
  EXPECT_EQ(log.reports.back().routes[0].expires, start + 500s);
  ASSERT_TRUE(c.create_permission({kPeer}).success());
  EXPECT_EQ(log.reports.back().routes[0].expires, start + 600s);
}

TEST(ChannelRoutesTest, LapsedPermissionAndPeersNotBoundAreNotRouted) {
  RouteLog log;
  Harness h({.options = routes_on(), .events = &log});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).success());
  ASSERT_TRUE(c.create_permission({kOtherPeer}).success());  // a permission, no channel
  EXPECT_EQ(log.reports.back().routes.size(), 1u);
  h.clock.advance(301s);  // the permission lapsed; the binding is still there
  ASSERT_TRUE(c.create_permission({kOtherPeer}).success());
  EXPECT_TRUE(log.reports.back().routes.empty());
}

TEST(ChannelRoutesTest, AReloadThatStillAllowsThePeerKeepsItsRoute) {
  RouteLog log;
  Harness h({.options = routes_on(), .events = &log});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).success());
  const std::size_t before = log.reports.size();
  h.server->reconfigure(routes_on(), documentation_allowed());
  ASSERT_GT(log.reports.size(), before);
  EXPECT_EQ(log.reports.back().routes.size(), 1u);
}

TEST(ChannelRoutesTest, PeersOnTernsOwnAddressesAndNumbersNoLongerAcceptedStayInUserSpace) {
  RouteLog log;
  core::ServerOptions options = routes_on();
  options.max_channel = protocol::kMaxChannelRfc5766;
  Harness h({.options = options, .events = &log});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x5000, kPeer).success());
  ASSERT_EQ(log.reports.back().routes.size(), 1u);

  TurnClient other(h, flow("192.0.2.51", 40000));
  other.login_and_allocate();
  const auto own = FakeRelays::v4_ip(50000);  // the first client's relayed address
  ASSERT_TRUE(other.channel_bind(0x4001, own).success());
  EXPECT_TRUE(log.reports.back().routes.empty());  // its verdict changes when that relay closes

  h.server->reconfigure(routes_on(), documentation_allowed());  // rfc5766_channels off now
  const auto last_of = [&](const core::FiveTuple& f) {
    for (auto it = log.reports.rbegin(); it != log.reports.rend(); ++it) {
      if (it->flow == f) return it->routes.size();
    }
    return std::size_t{99};
  };
  EXPECT_EQ(last_of(c.five_tuple()), 0u);  // 0x5000 is refused now, so no route
}

TEST(ChannelRoutesTest, AReloadThatDeniesThePeerTakesItsRouteAway) {
  RouteLog log;
  Harness h({.options = routes_on(), .events = &log});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).success());
  ASSERT_EQ(log.reports.back().routes.size(), 1u);
  core::ServerDeps deps;
  const std::vector<std::string> deny = {"default", "192.0.2.0/24"};
  auto denied = core::PeerPolicy::build(deny, {});
  ASSERT_TRUE(denied.errors.empty());
  deps.peers = std::make_shared<const core::PeerPolicy>(std::move(*denied.policy));
  h.server->reconfigure(routes_on(), std::move(deps));
  ASSERT_FALSE(log.reports.empty());
  EXPECT_EQ(log.reports.back().flow, c.five_tuple());
  EXPECT_TRUE(log.reports.back().routes.empty());
}

TEST(ChannelRoutesTest, StreamClientsAndServersWithoutTheOptionReportNone) {
  RouteLog log;
  Harness h({.options = routes_on(), .events = &log});
  TurnClient tcp(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  tcp.login_and_allocate();
  ASSERT_TRUE(tcp.channel_bind(0x4001, kPeer).success());
  ASSERT_FALSE(log.reports.empty());
  EXPECT_TRUE(log.reports.back().routes.empty());  // ChannelData over TCP is framed: user space

  RouteLog quiet;
  Harness off({.events = &quiet});
  TurnClient c(off, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_TRUE(c.channel_bind(0x4001, kPeer).success());
  EXPECT_TRUE(quiet.reports.empty());
}

TEST(ChannelRoutesTest, OffloadedTrafficCountsAsRelayed) {
  Harness h;
  core::OffloadedTraffic t;
  t.to_peer_packets = 3;
  t.to_peer_bytes = 300;
  t.to_client_packets = 2;
  t.to_client_bytes = 250;
  h.server->count_offloaded(t);
  const auto& s = h.server->stats();
  EXPECT_EQ(s.client_received.packets.get(), 3u);
  EXPECT_EQ(s.peer_sent.bytes.get(), 300u);
  EXPECT_EQ(s.peer_received.packets.get(), 2u);
  EXPECT_EQ(s.client_sent.bytes.get(), 250u);
}

}  // namespace
}  // namespace tern::test
