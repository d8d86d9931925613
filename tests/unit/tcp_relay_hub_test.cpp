// TcpRelayHub: parked peer descriptors, and ending bound connections from any worker.
#include "net/tcp_relay_hub.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace tern::net {
namespace {

bool open_fd(int fd) {
  return ::fcntl(fd, F_GETFD) != -1;
}

TEST(TcpRelayHubTest, AParkedDescriptorIsTakenOnce) {
  TcpRelayHub hub;
  const int fd = ::dup(STDERR_FILENO);
  hub.park(7, fd);
  EXPECT_EQ(hub.take(8), -1);
  EXPECT_EQ(hub.take(7), fd);
  EXPECT_EQ(hub.take(7), -1);
  hub.detach(7);
  ::close(fd);
}

TEST(TcpRelayHubTest, ClosingAParkedConnectionClosesItsDescriptor) {
  TcpRelayHub hub;
  const int fd = ::dup(STDERR_FILENO);
  hub.park(7, fd);
  hub.close(7);
  EXPECT_FALSE(open_fd(fd));
  EXPECT_EQ(hub.parked(), 0u);
}

TEST(TcpRelayHubTest, ClosingABoundConnectionEndsIt) {
  TcpRelayHub hub;
  const int fd = ::dup(STDERR_FILENO);
  hub.park(7, fd);
  ASSERT_EQ(hub.take(7), fd);
  int ended = 0;
  hub.attach(7, [&] { ++ended; });
  hub.close(7);
  hub.close(7);  // once only
  EXPECT_EQ(ended, 1);
  ::close(fd);
}

// The allocation ends while the worker that took the descriptor has not attached yet: the
// connection ends as soon as it attaches, instead of outliving its allocation.
TEST(TcpRelayHubTest, ClosedBetweenTakeAndAttachEndsAtAttach) {
  TcpRelayHub hub;
  const int fd = ::dup(STDERR_FILENO);
  hub.park(7, fd);
  ASSERT_EQ(hub.take(7), fd);
  hub.close(7);
  int ended = 0;
  hub.attach(7, [&] { ++ended; });
  EXPECT_EQ(ended, 1);
  hub.close(7);
  EXPECT_EQ(ended, 1);
  ::close(fd);
}

TEST(TcpRelayHubTest, DetachedConnectionsAreNotEnded) {
  TcpRelayHub hub;
  const int fd = ::dup(STDERR_FILENO);
  hub.park(7, fd);
  ASSERT_EQ(hub.take(7), fd);
  int ended = 0;
  hub.attach(7, [&] { ++ended; });
  hub.detach(7);
  hub.close(7);
  EXPECT_EQ(ended, 0);
  ::close(fd);
}

}  // namespace
}  // namespace tern::net
