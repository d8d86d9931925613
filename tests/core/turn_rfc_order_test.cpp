// RFC 8489 §9.2.4 check order and retransmission matching, pinned down after review findings.
#include "core/turn_client.hpp"

namespace tern::test {
namespace {

TEST(AuthOrderTest, WrongPasswordWithAStaleNonceIs401Not438) {
  Harness h;
  TurnClient wrong(h, flow("192.0.2.60", 40000), std::string(kUser), "not-the-password");
  wrong.challenge();
  h.clock.advance(11min);  // the nonce is stale now
  EXPECT_EQ(wrong.allocate().error(), 401);
  TurnClient right(h, flow("192.0.2.61", 40000));
  right.challenge();
  h.clock.advance(11min);
  EXPECT_EQ(right.allocate().error(), 438);
}

TEST(RetransmissionTest, SameTransactionIdOfAnotherMethodIsNotAReplay) {
  Harness h;
  TurnClient c(h, flow("192.0.2.62", 40000));
  ASSERT_TRUE(c.login_and_allocate().success());
  const auto tid = c.last_tid;
  Reply r = c.request(Method::kRefresh, {}, tid);  // reuses the Allocate's transaction id
  EXPECT_EQ(r.type(), protocol::message_type(Method::kRefresh, MessageClass::kSuccessResponse));
}

TEST(PermissionQuotaTest, RepeatedPeerInOneRequestCountsOnce) {
  HarnessConfig config;
  config.options.permissions_per_allocation = 1;
  Harness h(config);
  TurnClient c(h, flow("192.0.2.63", 40000));
  ASSERT_TRUE(c.login_and_allocate().success());
  const auto peer = addr("192.0.2.99", 5000);
  const auto same_ip = addr("192.0.2.99", 6000);
  EXPECT_TRUE(c.create_permission({peer, same_ip}).success());
  EXPECT_EQ(c.create_permission({addr("192.0.2.98", 5000)}).error(), 508);
}

}  // namespace
}  // namespace tern::test
