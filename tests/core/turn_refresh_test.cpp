// TURN Refresh and allocation expiry in the core (RFC 8656 §8, §3.1 connection close).
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

TEST(RefreshTest, WithoutAllocationIs437) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.refresh(600);
  EXPECT_EQ(r.type(), 0x0114);
  EXPECT_EQ(r.error(), 437);
  EXPECT_TRUE(c.verified(r));
}

TEST(RefreshTest, LifetimeZeroDeletesAndASecondDeleteIs437) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  ASSERT_EQ(h.relays.open_count(), 1u);
  const core::RelayId relay = 1;
  Reply deleted = c.refresh(0);
  EXPECT_TRUE(deleted.success());
  EXPECT_EQ(deleted.lifetime(), 0u);
  EXPECT_TRUE(c.verified(deleted));
  EXPECT_FALSE(h.server->has_allocation(c.five_tuple()));
  EXPECT_EQ(h.relays.closed, std::vector<core::RelayId>{relay});
  EXPECT_EQ(h.quota->in_use(), 0u);

  Reply again = c.refresh(0);
  EXPECT_EQ(again.error(), 437);
  EXPECT_EQ(h.relays.closed.size(), 1u);  // closed once
  EXPECT_EQ(h.quota->in_use(), 0u);
  // The relay no longer carries anything.
  EXPECT_TRUE(h.from_peer(relay, addr("192.0.2.10", 5000), bytes("late")).empty());
}

TEST(RefreshTest, AnotherUserOnTheSameFiveTupleGets441) {
  Harness h;
  TurnClient owner(h, flow("192.0.2.50", 40000));
  owner.login_and_allocate();
  TurnClient thief(h, owner.five_tuple(), rest_user(), rest_pass());
  thief.set_nonce(owner.nonce());  // nonces are bound to the address, not the user
  Reply r = thief.refresh(0);
  EXPECT_EQ(r.error(), 441);
  EXPECT_TRUE(thief.verified(r));  // signed with the requester's own key
  EXPECT_FALSE(owner.verified(r));
  EXPECT_TRUE(h.server->has_allocation(owner.five_tuple()));
  EXPECT_TRUE(h.relays.closed.empty());
  EXPECT_EQ(thief.create_permission({addr("192.0.2.10", 0)}).error(), 441);
  EXPECT_EQ(thief.channel_bind(0x4000, addr("192.0.2.10", 5000)).error(), 441);
  EXPECT_TRUE(owner.refresh(600).success());
}

TEST(RefreshTest, AllocationExpiresOnSweepAfterItsLifetime) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  h.clock.advance(599s);
  h.sweep();
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
  EXPECT_TRUE(h.relays.closed.empty());
  h.clock.advance(2s);
  h.sweep();
  EXPECT_FALSE(h.server->has_allocation(c.five_tuple()));
  EXPECT_EQ(h.relays.closed, std::vector<core::RelayId>{1});
  EXPECT_EQ(h.relays.open_count(), 0u);
  EXPECT_EQ(h.quota->in_use(), 0u);
  c.challenge();  // a 401 again: the nonce is too old by now anyway
  EXPECT_EQ(c.refresh(600).error(), 437);
}

TEST(RefreshTest, RefreshExtendsTheAllocation) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  h.clock.advance(500s);
  Reply r = c.refresh(std::nullopt);
  ASSERT_TRUE(r.success());
  EXPECT_EQ(r.lifetime(), 600u);
  h.clock.advance(500s);  // 1000 s after the Allocate, 500 s after the Refresh
  h.sweep();
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
  c.challenge();  // nonce older than 10 minutes
  Reply longer = c.refresh(99999);
  EXPECT_EQ(longer.lifetime(), 3600u);
  h.clock.advance(3599s);
  h.sweep();
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
  h.clock.advance(2s);
  h.sweep();
  EXPECT_FALSE(h.server->has_allocation(c.five_tuple()));
}

TEST(RefreshTest, RetransmittedRefreshGetsTheSameBytes) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  Reply first = c.refresh(1200);
  h.clock.advance(1s);
  Reply again = c.send(c.last_request);
  EXPECT_EQ(again.bytes, first.bytes);
}

TEST(RefreshTest, RequestedFamilyNotAllocatedIs443) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
  Reply r = c.request(Method::kRefresh, [](MessageBuilder& b) {
    b.add_address_family(attr::kRequestedAddressFamily, Family::kIPv6);
  });
  EXPECT_EQ(r.error(), 443);
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
}

TEST(TurnTcpTest, ConnectionCloseDeletesTheAllocation) {
  Harness h;
  TurnClient tcp(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  tcp.login_and_allocate();
  TurnClient udp(h, flow("192.0.2.50", 40000));  // same address and port, other transport
  udp.login_and_allocate();
  ASSERT_EQ(h.server->allocation_count(), 2u);
  ASSERT_EQ(h.quota->in_use(), 2u);

  h.server->connection_closed(tcp.five_tuple());
  EXPECT_FALSE(h.server->has_allocation(tcp.five_tuple()));
  EXPECT_TRUE(h.server->has_allocation(udp.five_tuple()));
  EXPECT_EQ(h.relays.closed, std::vector<core::RelayId>{1});
  EXPECT_EQ(h.quota->in_use(), 1u);
  h.server->connection_closed(tcp.five_tuple());  // twice: nothing more happens
  EXPECT_EQ(h.relays.closed.size(), 1u);
  EXPECT_EQ(h.quota->in_use(), 1u);
}

}  // namespace
}  // namespace tern::test
