// UDP steering: the packing policy, and the eBPF program on loopback sockets of one
// SO_REUSEPORT group (pins, placement, IPv4 and IPv6). Loading it needs CAP_BPF: run as root.
#include "net/udp_steering.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "net/sockaddr.hpp"
#include "net/steering_policy.hpp"

namespace tern::net {
namespace {

TEST(PackWorker, FillsTheFirstWorkerWithRoom) {
  const PackLimits limits{4, 0.5};
  std::vector<WorkerLoad> loads{{0, 0.0}, {0, 0.0}, {0, 0.0}};
  EXPECT_EQ(pack_worker(loads, limits), 0u);
  loads[0].allocations = 3;
  EXPECT_EQ(pack_worker(loads, limits), 0u);
  loads[0].allocations = 4;  // full
  EXPECT_EQ(pack_worker(loads, limits), 1u);
  loads[0].allocations = 1;
  loads[0].busy = 0.6;  // busy
  EXPECT_EQ(pack_worker(loads, limits), 1u);
  loads[1].busy = 0.7;
  EXPECT_EQ(pack_worker(loads, limits), 2u);
}

TEST(PackWorker, WhenAllAreFullSpreadsByCountThenByCpu) {
  const PackLimits limits{4, 0.5};
  std::vector<WorkerLoad> full{{9, 0.1}, {7, 0.2}, {8, 0.0}};
  EXPECT_EQ(pack_worker(full, limits), 1u);  // fewest allocations among the idle
  std::vector<WorkerLoad> busy{{1, 0.9}, {1, 0.6}, {1, 0.8}};
  EXPECT_EQ(pack_worker(busy, limits), 1u);  // least busy
  std::vector<WorkerLoad> mixed{{1, 0.9}, {50, 0.1}, {1, 0.8}};
  EXPECT_EQ(pack_worker(mixed, limits), 1u);  // full but not busy beats busy
  std::vector<WorkerLoad> one{{100, 2.0}};
  EXPECT_EQ(pack_worker(one, limits), 0u);
}

struct Socket {
  explicit Socket(int family) : fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {}
  ~Socket() { ::close(fd); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd;
};

sockaddr_storage loopback(int family, std::uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  }
  return ss;
}

// Two workers' sockets on one port, and clients that send to it.
class SteeredGroup : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    std::string why;
    steering_ = UdpSteering::load(why);
    if (!steering_) {  // refused for want of CAP_BPF, or built without: say so; else fail
      if (why.find("not permitted") != std::string::npos ||
          why.find("built without") != std::string::npos) {
        GTEST_SKIP() << why;
      }
      FAIL() << why;
    }
    const int family = GetParam();
    socklen_t len = 0;
    std::uint16_t port = 0;
    for (int i = 0; i < 2; ++i) {
      workers_.push_back(std::make_unique<Socket>(family));
      const int one = 1;
      setsockopt(workers_.back()->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      if (family == AF_INET6) setsockopt(workers_.back()->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, 4);
      auto addr = loopback(family, port, len);
      ASSERT_EQ(::bind(workers_.back()->fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
      getsockname(workers_.back()->fd, reinterpret_cast<sockaddr*>(&addr), &len);
      local_ = from_sockaddr(reinterpret_cast<sockaddr*>(&addr));
      port = local_.port;
    }
    ASSERT_TRUE(steering_->attach(local_, {workers_[0]->fd, workers_[1]->fd}, why)) << why;
    for (int i = 0; i < 8; ++i) {
      clients_.push_back(std::make_unique<Socket>(family));
      auto any = loopback(family, 0, len);
      ASSERT_EQ(::bind(clients_.back()->fd, reinterpret_cast<sockaddr*>(&any), len), 0);
      getsockname(clients_.back()->fd, reinterpret_cast<sockaddr*>(&any), &len);
      client_addrs_.push_back(from_sockaddr(reinterpret_cast<sockaddr*>(&any)));
    }
  }

  // Which worker socket one datagram from client `c` reached (-1: none within 2 s).
  int reached(std::size_t c) {
    socklen_t len = 0;
    auto to = loopback(GetParam(), local_.port, len);
    char byte = 'x';
    ::sendto(clients_[c]->fd, &byte, 1, 0, reinterpret_cast<sockaddr*>(&to), len);
    pollfd p[2] = {{workers_[0]->fd, POLLIN, 0}, {workers_[1]->fd, POLLIN, 0}};
    if (::poll(p, 2, 2000) <= 0) return -1;
    for (int w = 0; w < 2; ++w) {
      if ((p[w].revents & POLLIN) != 0) {
        (void)::recv(workers_[static_cast<std::size_t>(w)]->fd, &byte, 1, 0);
        return w;
      }
    }
    return -1;
  }

  std::unique_ptr<UdpSteering> steering_;
  std::vector<std::unique_ptr<Socket>> workers_;
  std::vector<std::unique_ptr<Socket>> clients_;
  std::vector<protocol::TransportAddress> client_addrs_;
  protocol::TransportAddress local_;
};

TEST_P(SteeredGroup, NewSourcesGoWherePlacedAndStayThere) {
  steering_->place(1);
  for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(reached(c), 1) << "client " << c;
  steering_->place(0);
  // Placed within the last 30 s: a request's retransmissions reach the worker that has it.
  for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(reached(c), 1) << "client " << c;
  for (std::size_t c = 4; c < 8; ++c) EXPECT_EQ(reached(c), 0) << "client " << c;
  steering_->place(1);
  for (std::size_t c = 4; c < 8; ++c) EXPECT_EQ(reached(c), 0) << "client " << c;
}

TEST_P(SteeredGroup, PinnedClientsReachTheirWorkerWherever) {
  steering_->place(0);
  steering_->pin(local_, client_addrs_[3], 1);
  steering_->pin(local_, client_addrs_[5], 1);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t c = 0; c < clients_.size(); ++c) {
      EXPECT_EQ(reached(c), c == 3 || c == 5 ? 1 : 0) << "client " << c;
    }
  }
  steering_->unpin_if(local_, client_addrs_[3], 0);  // pinned to 1, not 0: stays
  EXPECT_EQ(reached(3), 1);
  steering_->unpin_if(local_, client_addrs_[3], 1);
  EXPECT_EQ(reached(3), 0);  // where new sources go
  steering_->unpin(local_, client_addrs_[5]);
  EXPECT_EQ(reached(5), 0);
  steering_->pin(local_, client_addrs_[0], 1);  // a source placed before gets its pin
  EXPECT_EQ(reached(0), 1);
  EXPECT_EQ(steering_->pins_refused(), 0u);
}

TEST_P(SteeredGroup, PinsForAnotherGroupDoNotSteerThisOne) {
  steering_->place(0);
  protocol::TransportAddress elsewhere = local_;
  elsewhere.port = static_cast<std::uint16_t>(local_.port + 1);
  steering_->pin(elsewhere, client_addrs_[0], 1);
  EXPECT_EQ(reached(0), 0);
  steering_->detach(local_);  // the program stays with the sockets; pins are no longer taken
  steering_->pin(local_, client_addrs_[0], 1);
  EXPECT_EQ(reached(0), 0);
}

INSTANTIATE_TEST_SUITE_P(Families, SteeredGroup, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& p) { return p.param == AF_INET ? "IPv4" : "IPv6"; });

}  // namespace
}  // namespace tern::net
