// The expiry sweep: it looks only at allocations with something due, and the live gauges follow.
#include "core/turn_client.hpp"

namespace tern::test {
namespace {

using namespace std::chrono_literals;

std::vector<std::unique_ptr<TurnClient>> allocate_many(Harness& h, std::size_t n,
                                                       std::size_t first = 0) {
  std::vector<std::unique_ptr<TurnClient>> clients;
  for (std::size_t i = first; i < first + n; ++i) {
    const std::string ip = "198.51.100." + std::to_string(1 + i / 200);
    auto c = std::make_unique<TurnClient>(h, flow(ip, static_cast<std::uint16_t>(20000 + i)));
    EXPECT_TRUE(c->login_and_allocate().success());
    clients.push_back(std::move(c));
  }
  return clients;
}

// Each Allocate's answer is kept 40 s for retransmissions: that is a deadline of its own.
TEST(TurnSweepTest, LooksOnlyAtWhatIsDue) {
  Harness h;
  auto early = allocate_many(h, 3, 0);  // end at 600 s, answers released at 40 s
  h.clock.advance(30s);
  EXPECT_EQ(h.sweep(), 0u);
  auto late = allocate_many(h, 600, 3);  // end at 630 s, answers released at 70 s
  ASSERT_EQ(h.server->allocation_count(), 603u);
  h.clock.advance(11s);  // 41 s
  EXPECT_EQ(h.sweep(), 3u);
  h.clock.advance(30s);  // 71 s
  EXPECT_EQ(h.sweep(), 600u);
  h.clock.advance(459s);     // 530 s
  EXPECT_EQ(h.sweep(), 0u);  // nothing is due: none of the 603 is looked at
  h.clock.advance(71s);      // 601 s: the sweep looks at the three that end, and no other
  EXPECT_EQ(h.sweep(), 3u);
  EXPECT_EQ(h.server->allocation_count(), 600u);
  EXPECT_EQ(h.sweep(), 0u);
  h.clock.advance(30s);
  EXPECT_EQ(h.sweep(), 600u);
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(TurnSweepTest, PermissionsAndChannelsLapseOnTimeAndTheGaugesFollow) {
  Harness h;
  auto clients = allocate_many(h, 200);  // all end at 600 s
  h.clock.advance(41s);
  EXPECT_EQ(h.sweep(), 200u);  // the Allocate answers are released
  const auto peer = addr("192.0.2.10", 7000);
  ASSERT_TRUE(clients[0]->create_permission({addr("192.0.2.11", 1)}).success());  // to 341 s
  h.clock.advance(59s);                                                           // 100 s
  ASSERT_TRUE(clients[1]->channel_bind(0x4000, peer).success());  // permission to 400 s,
  ASSERT_TRUE(clients[1]->refresh(1200).success());               // binding to 700 s
  EXPECT_EQ(h.sweep(), 1u);  // clients[0]'s CreatePermission answer (41 s) is released
  const auto& s = h.server->stats();
  EXPECT_EQ(s.permissions_active.get(), 2);
  EXPECT_EQ(s.channels_active.get(), 1);
  h.clock.advance(41s);  // 141 s: the last answer to clients[1] is released
  EXPECT_EQ(h.sweep(), 1u);
  h.clock.advance(201s);  // 342 s: the first permission lapsed
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(s.permissions_active.get(), 1);
  h.clock.advance(59s);  // 401 s: the channel's permission lapsed, the binding has not
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(s.permissions_active.get(), 0);
  EXPECT_EQ(s.channels_active.get(), 1);
  h.clock.advance(200s);  // 601 s: every allocation but the refreshed one ends
  EXPECT_EQ(h.sweep(), 199u);
  EXPECT_EQ(h.server->allocation_count(), 1u);
  h.clock.advance(100s);  // 701 s: the binding ended; its number stays held for 5 minutes
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(s.channels_active.get(), 0);
  h.clock.advance(300s);  // 1001 s: the number is free again
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(h.sweep(), 0u);
  EXPECT_EQ(h.server->allocation_count(), 1u);
}

TEST(TurnSweepTest, ARefreshedAllocationIsNotRemovedAtItsOldDeadline) {
  Harness h;
  auto clients = allocate_many(h, 2);
  h.clock.advance(41s);
  EXPECT_EQ(h.sweep(), 2u);                         // the Allocate answers
  h.clock.advance(459s);                            // 500 s
  ASSERT_TRUE(clients[0]->refresh(600).success());  // now ends at 1100 s
  h.clock.advance(41s);                             // 541 s: the Refresh answer
  EXPECT_EQ(h.sweep(), 1u);
  h.clock.advance(60s);      // 601 s
  EXPECT_EQ(h.sweep(), 1u);  // the other ends; the refreshed one was queued again at 541 s
  EXPECT_EQ(h.server->allocation_count(), 1u);
  EXPECT_TRUE(h.server->has_allocation(clients[0]->five_tuple()));
  h.clock.advance(500s);  // 1101 s
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(TurnSweepTest, ARetransmittedAllocateIsAnsweredFor40Seconds) {
  Harness h;
  TurnClient c(h, flow("198.51.100.200", 40000));
  const Reply first = c.login_and_allocate();
  ASSERT_TRUE(first.success());
  const std::vector<std::uint8_t> request = c.last_request;
  h.clock.advance(30s);
  h.sweep();
  EXPECT_EQ(c.send(request).bytes, first.bytes);  // the same answer
  h.clock.advance(11s);
  EXPECT_EQ(h.sweep(), 1u);
  EXPECT_EQ(c.send(request).error(), 437);  // released: now an allocation mismatch
}

}  // namespace
}  // namespace tern::test
