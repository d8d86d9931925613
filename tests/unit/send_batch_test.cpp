// SendBatch on loopback sockets: every datagram arrives once, in order per destination, with
// one system call per socket and GSO for runs of equal size.
#include "net/send_batch.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace tern::net {
namespace {

struct Udp {
  Udp() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    const int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    std::memcpy(&address, &a, sizeof a);
  }
  ~Udp() { ::close(fd); }
  Udp(const Udp&) = delete;
  Udp& operator=(const Udp&) = delete;

  // The datagrams that arrive until `expected` have or 2 s pass, then any within 20 ms more.
  std::vector<std::string> receive(std::size_t expected) const {
    std::vector<std::string> out;
    for (int i = 0; i < 100000; ++i) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, out.size() < expected ? 2000 : 20) <= 0) break;
      char buf[8192];
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  int fd;
  sockaddr_storage address{};
  static constexpr socklen_t kLen = sizeof(sockaddr_in);
};

std::string payload(char tag, int index, std::size_t size) {
  std::string s = tag + std::to_string(index) + ":";
  s.resize(size, static_cast<char>('a' + index % 26));
  return s;
}

void add(SendBatch& batch, const Udp& from, const Udp& to, const std::string& bytes) {
  batch.add(from.fd, to.address, Udp::kLen,
            std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

// Interleaves three flows over two sending sockets and checks each flow arrives whole and in
// order; returns the batch's counters.
SendBatch::Counters interleaved_flows(bool gso) {
  Udp s1, s2, a, b;
  SendBatch batch;
  batch.set_gso(gso);
  std::vector<std::string> to_a, to_b;
  for (int i = 0; i < 40; ++i) {
    to_a.push_back(payload('A', i, 120));
    add(batch, s1, a, to_a.back());
    if (i % 4 == 0) {
      to_b.push_back(payload('B', i, 100 + static_cast<std::size_t>(i)));  // sizes differ
      add(batch, s2, b, to_b.back());
    }
  }
  batch.flush();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(a.receive(to_a.size()), to_a);
  EXPECT_EQ(b.receive(to_b.size()), to_b);
  return batch.counters();
}

TEST(SendBatch, InterleavedFlowsArriveInOrderWithOneCallPerSocket) {
  const auto c = interleaved_flows(SendBatch::gso_available());
  EXPECT_EQ(c.system_calls, 2u);  // one sendmmsg per sending socket
  EXPECT_EQ(c.gso_fallbacks, 0u);
  if (SendBatch::gso_available()) {
    EXPECT_EQ(c.gso_sends, 1u);  // the 40 equal datagrams to A
  }
}

TEST(SendBatch, WithoutGsoEveryDatagramIsItsOwnMessage) {
  const auto c = interleaved_flows(false);
  EXPECT_EQ(c.system_calls, 2u);
  EXPECT_EQ(c.gso_sends, 0u);
}

TEST(SendBatch, FlushesWhenFullAndSplitsRunsBySizeAndDestination) {
  Udp s, a, b;
  SendBatch batch;
  std::vector<std::string> to_a, to_b;
  for (int i = 0; i < 3 * static_cast<int>(SendBatch::kCapacity); ++i) {
    const bool first = i % 3 != 0;
    auto& list = first ? to_a : to_b;
    list.push_back(payload(first ? 'A' : 'B', i, i % 7 == 0 ? 1200 : 60));
    add(batch, s, first ? a : b, list.back());
  }
  batch.flush();
  EXPECT_EQ(a.receive(to_a.size()), to_a);
  EXPECT_EQ(b.receive(to_b.size()), to_b);
}

TEST(SendBatch, LargestRunUsesOneMessage) {
  if (!SendBatch::gso_available()) GTEST_SKIP() << "kernel without UDP GSO";
  Udp s, a;
  SendBatch batch;
  std::vector<std::string> sent;
  for (int i = 0; i < static_cast<int>(SendBatch::kCapacity); ++i) {
    sent.push_back(payload('A', i, 1000));
    add(batch, s, a, sent.back());
  }
  batch.flush();
  EXPECT_EQ(a.receive(sent.size()), sent);
  EXPECT_EQ(batch.counters().system_calls, 1u);
  EXPECT_EQ(batch.counters().gso_sends, 1u);
}

TEST(SendBatch, EmptyDatagramsAreSentOneByOne) {
  Udp s, a;
  SendBatch batch;
  const std::vector<std::string> sent{"", "", "x", ""};
  for (const auto& d : sent) add(batch, s, a, d);
  batch.flush();
  EXPECT_EQ(a.receive(sent.size()), sent);
  EXPECT_EQ(batch.counters().gso_fallbacks, 0u);
}

TEST(SendBatch, PendingIcmpErrorDoesNotCostTheNextDatagram) {
  Udp s, a;
  const int one = 1;
  setsockopt(s.fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
  sockaddr_storage closed{};
  {
    Udp gone;  // a port that was just closed: the kernel answers port unreachable
    closed = gone.address;
  }
  SendBatch batch;
  const std::string lost = "to a closed port";
  batch.add(s.fd, closed, Udp::kLen,
            std::span(reinterpret_cast<const std::uint8_t*>(lost.data()), lost.size()));
  batch.flush();
  const std::string kept = payload('A', 1, 80);
  add(batch, s, a, kept);
  batch.flush();
  EXPECT_EQ(a.receive(1), std::vector<std::string>{kept});
}

}  // namespace
}  // namespace tern::net
