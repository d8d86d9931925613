// ConnectionBudget: the total and per-source limits on TCP/TLS connections, and refusal counts.
#include "net/connection_budget.hpp"

#include <gtest/gtest.h>

namespace tern::net {
namespace {

protocol::TransportAddress ip(const char* text, std::uint16_t port) {
  protocol::TransportAddress a;
  EXPECT_TRUE(protocol::TransportAddress::parse_ip(text, a));
  a.port = port;
  return a;
}

TEST(ConnectionBudget, PerSourceLimitCountsAddressesNotPorts) {
  ConnectionBudget budget;
  budget.set_limits(100, 2);
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 1000)));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 1001)));
  EXPECT_FALSE(budget.try_acquire(ip("192.0.2.1", 1002)));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.2", 1000)));
  EXPECT_TRUE(budget.try_acquire(ip("2001:db8::1", 1000)));
  EXPECT_EQ(budget.refused(Refusal::kPerSource), 1u);
  budget.release(ip("192.0.2.1", 1000));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 1003)));
}

TEST(ConnectionBudget, TotalLimitHoldsAcrossSources) {
  ConnectionBudget budget;
  budget.set_limits(2, 0);
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 1)));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.2", 1)));
  EXPECT_FALSE(budget.try_acquire(ip("192.0.2.3", 1)));
  EXPECT_EQ(budget.refused(Refusal::kLimit), 1u);
  EXPECT_EQ(budget.refused(Refusal::kPerSource), 0u);
  budget.release(ip("192.0.2.2", 1));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.3", 1)));
}

TEST(ConnectionBudget, ReleasingAnUnknownSourceChangesNothing) {
  ConnectionBudget budget;
  budget.set_limits(1, 1);
  budget.release(ip("192.0.2.9", 1));
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 1)));
  EXPECT_FALSE(budget.try_acquire(ip("192.0.2.2", 1)));
}

TEST(ConnectionBudget, DescriptorRefusalsAreCounted) {
  ConnectionBudget budget;
  budget.count_refusals(Refusal::kDescriptors, 64);
  EXPECT_EQ(budget.refused(Refusal::kDescriptors), 64u);
}

}  // namespace
}  // namespace tern::net
