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

namespace tern::net {
namespace {

TEST(ConnectionBudget, TrustedProxiesAreHeldToTheLimitOfTheClientsTheyName) {
  ConnectionBudget budget;
  budget.set_limits(100, 2);
  budget.set_trusted_proxies({*core::Cidr::parse("10.0.0.0/8")});
  const auto proxy = ip("10.1.2.3", 40000);
  EXPECT_TRUE(budget.trusted_proxy(proxy));
  EXPECT_FALSE(budget.trusted_proxy(ip("192.0.2.1", 1)));
  // The proxy itself opens more connections than one source may...
  for (std::uint16_t port = 1; port <= 5; ++port) {
    EXPECT_TRUE(budget.try_acquire(ip("10.1.2.3", port), false));
  }
  // ...and each is moved to the client its header names, which the limit holds.
  EXPECT_TRUE(budget.try_transfer(proxy, ip("192.0.2.1", 1)));
  EXPECT_TRUE(budget.try_transfer(proxy, ip("192.0.2.1", 2)));
  EXPECT_FALSE(budget.try_transfer(proxy, ip("192.0.2.1", 3)));
  EXPECT_TRUE(budget.try_transfer(proxy, ip("192.0.2.2", 1)));
  EXPECT_EQ(budget.refused(Refusal::kPerSource), 1u);
  // A direct connection from 192.0.2.1 is over its limit too.
  EXPECT_FALSE(budget.try_acquire(ip("192.0.2.1", 9)));
  // Another proxied connection naming a client address and port in use is refused.
  EXPECT_FALSE(budget.try_transfer(proxy, ip("192.0.2.2", 1)));
  EXPECT_EQ(budget.refused(Refusal::kProxyHeader), 1u);
  // Releases follow the address each connection is counted under now.
  budget.release(ip("192.0.2.1", 1), true);
  EXPECT_TRUE(budget.try_acquire(ip("192.0.2.1", 9)));
  budget.set_trusted_proxies({});
  EXPECT_FALSE(budget.trusted_proxy(proxy));
}

TEST(ConnectionBudget, TransfersKeepTheTotal) {
  ConnectionBudget budget;
  budget.set_limits(2, 0);
  EXPECT_TRUE(budget.try_acquire(ip("10.0.0.1", 1), false));
  EXPECT_TRUE(budget.try_acquire(ip("10.0.0.1", 2), false));
  EXPECT_TRUE(budget.try_transfer(ip("10.0.0.1", 1), ip("192.0.2.1", 1)));
  EXPECT_FALSE(budget.try_acquire(ip("10.0.0.1", 3), false));  // still two open
  budget.release(ip("192.0.2.1", 1), true);
  EXPECT_TRUE(budget.try_acquire(ip("10.0.0.1", 3), false));
  EXPECT_TRUE(budget.try_transfer(ip("10.0.0.1", 3), ip("192.0.2.1", 1)));  // free again
}

}  // namespace
}  // namespace tern::net
