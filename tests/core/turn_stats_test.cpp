// The per-worker statistics the metrics endpoint exports: requests, auth failures, legs, gauges.
#include "core/turn_client.hpp"

namespace tern::test {
namespace {

using core::StatMethod;

std::uint64_t requests(const core::ServerStats& s, StatMethod m, std::uint16_t code) {
  return s.requests[static_cast<std::size_t>(m)][core::stat_code_index(code)].get();
}

TEST(TurnStatsTest, RequestsAuthAndAllocationsAreCounted) {
  Harness h;
  TurnClient wrong(h, flow("192.0.2.80", 40000), std::string(kUser), "nope");
  wrong.challenge();
  EXPECT_EQ(wrong.allocate().error(), 401);
  TurnClient stranger(h, flow("192.0.2.81", 40000), "mallory", "x");
  stranger.challenge();
  EXPECT_EQ(stranger.allocate().error(), 401);
  TurnClient c(h, flow("192.0.2.82", 40000));
  ASSERT_TRUE(c.login_and_allocate().success());
  const auto& s = h.server->stats();
  EXPECT_EQ(s.auth_challenges.get(), 3u);
  EXPECT_EQ(s.auth_failures[static_cast<std::size_t>(core::AuthFailure::kBadIntegrity)].get(), 1u);
  EXPECT_EQ(s.auth_failures[static_cast<std::size_t>(core::AuthFailure::kUnknownUser)].get(), 1u);
  EXPECT_EQ(requests(s, StatMethod::kAllocate, 401), 5u);
  EXPECT_EQ(requests(s, StatMethod::kAllocate, 200), 1u);
  EXPECT_EQ(s.allocation_attempts[core::stat_code_index(200)].get(), 1u);
  EXPECT_EQ(s.allocation_attempts[core::stat_code_index(401)].get(), 5u);
  EXPECT_EQ(s.allocations_active[0][0].get(), 1);  // udp, IPv4
  EXPECT_EQ(s.durations[static_cast<std::size_t>(StatMethod::kAllocate)].count.get(), 6u);
  ASSERT_TRUE(c.refresh(0).success());
  EXPECT_EQ(s.allocations_active[0][0].get(), 0);
}

TEST(TurnStatsTest, RelayedBytesMoveOnEveryLegAsPacketsFlow) {
  Harness h;
  TurnClient c(h, flow("192.0.2.83", 40000));
  ASSERT_TRUE(c.login_and_allocate().success());
  const auto peer = addr("192.0.2.99", 7000);
  ASSERT_TRUE(c.channel_bind(0x4000, peer).success());
  const std::vector<std::uint8_t> data(100, 1);
  c.channel_data(0x4000, data);
  h.from_peer(1, peer, std::vector<std::uint8_t>(60, 2));
  h.from_peer(1, addr("192.0.2.98", 1), std::vector<std::uint8_t>(10, 3));  // no permission
  const auto& s = h.server->stats();
  EXPECT_EQ(s.client_received.bytes.get(), 100u);
  EXPECT_EQ(s.peer_sent.bytes.get(), 100u);
  EXPECT_EQ(s.peer_received.bytes.get(), 70u);
  EXPECT_EQ(s.peer_received.packets.get(), 2u);
  EXPECT_EQ(s.client_sent.bytes.get(), 60u);
  EXPECT_EQ(s.dropped_count(core::Drop::kNoPermission), 1u);
  h.sweep();
  EXPECT_EQ(s.permissions_active.get(), 1);
  EXPECT_EQ(s.channels_active.get(), 1);
}

}  // namespace
}  // namespace tern::test
