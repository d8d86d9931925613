// The kernel relay's packet logic (server/offload/bpf/rewrite.h), compiled here as plain C++:
// ChannelData to a peer datagram and back, checksums that verify, and what it leaves alone.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "offload/rewrite_model.hpp"

namespace tern::test::kernel_relay {
namespace {

std::uint32_t ip(const char* text) {
  in_addr a{};
  EXPECT_EQ(inet_pton(AF_INET, text, &a), 1);
  return a.s_addr;
}

const std::uint32_t kClient = ip("198.51.100.7"), kListener = ip("203.0.113.1");
const std::uint32_t kRelay = ip("203.0.113.2"), kPeer = ip("192.0.2.9");
constexpr std::uint16_t kChannel = 0x4001;
constexpr std::uint64_t kNow = 1'000'000'000'000ULL;

std::vector<std::uint8_t> channel_data(std::uint16_t channel, const std::vector<std::uint8_t>& p) {
  std::vector<std::uint8_t> out(4 + p.size());
  tr_store16(out.data(), channel);
  tr_store16(out.data() + 2, static_cast<std::uint16_t>(p.size()));
  std::copy(p.begin(), p.end(), out.begin() + 4);
  return out;
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(seed + i * 37);
  return p;
}

// One binding: client 198.51.100.7:40000 -> listener 203.0.113.1:3478 on channel 0x4001,
// relayed from 203.0.113.2:50000 to peer 192.0.2.9:7000.
Maps binding(std::uint64_t expires = kNow + 10'000'000'000ULL) {
  Maps m;
  m.add_client(
      {kClient, kListener, htons(40000), htons(3478), kChannel, 0},
      {kRelay, kPeer, htons(50000), htons(7000), kChannel, TR_DONT_FRAGMENT, 64, 3, 0, expires});
  m.add_peer({kPeer, kRelay, htons(7000), htons(50000)},
             {kListener, kClient, htons(3478), htons(40000), kChannel, TR_DONT_FRAGMENT, 64, 3, 0,
              expires});
  return m;
}

class KernelRelayHook : public ::testing::TestWithParam<Hook> {};
INSTANTIATE_TEST_SUITE_P(TcAndXdp, KernelRelayHook, ::testing::Values(Hook::kTc, Hook::kXdp));

TEST_P(KernelRelayHook, ChannelDataBecomesThePeerDatagramForEveryLength) {
  const Maps maps = binding();
  for (std::size_t n = 0; n <= 1300; n += (n < 40 ? 1 : 97)) {
    const auto payload = pattern(n, static_cast<std::uint8_t>(n));
    const Frame in = make_frame(kClient, kListener, 40000, 3478, channel_data(kChannel, payload));
    const Outcome out = relay(in, maps, kNow, GetParam());
    ASSERT_EQ(out.verdict, Verdict::kRedirect) << n;
    ASSERT_TRUE(out.to_peer);
    const Frame want = make_frame(kRelay, kPeer, 50000, 7000, payload);
    ASSERT_TRUE(checksums_valid(out.frame)) << n;
    ASSERT_EQ(out.frame.size(), want.size());
    EXPECT_TRUE(std::equal(out.frame.begin(), out.frame.begin() + 6, kDmac));
    EXPECT_TRUE(std::equal(out.frame.begin() + 6, out.frame.begin() + 12, kSmac));
    // Byte for byte what make_frame builds (DF, TTL 64, id 0), MAC addresses aside.
    EXPECT_TRUE(std::equal(out.frame.begin() + 12, out.frame.end(), want.begin() + 12)) << n;
  }
}

TEST_P(KernelRelayHook, APeerDatagramBecomesChannelDataToTheClient) {
  const Maps maps = binding();
  for (std::size_t n = 0; n <= 1300; n += (n < 40 ? 1 : 89)) {
    const auto payload = pattern(n, 5);
    const Frame in = make_frame(kPeer, kRelay, 7000, 50000, payload);
    const Outcome out = relay(in, maps, kNow, GetParam());
    ASSERT_EQ(out.verdict, Verdict::kRedirect) << n;
    ASSERT_FALSE(out.to_peer);
    const Frame want = make_frame(kListener, kClient, 3478, 40000, channel_data(kChannel, payload));
    ASSERT_TRUE(checksums_valid(out.frame)) << n;
    ASSERT_EQ(out.frame.size(), want.size());
    EXPECT_TRUE(std::equal(out.frame.begin() + 12, out.frame.end(), want.begin() + 12)) << n;
  }
}

TEST(KernelRelayRewrite, OnlyTheAddressesInstalledMatch) {
  const Maps maps = binding();
  const Frame other_ip =
      make_frame(kClient, ip("203.0.113.9"), 40000, 3478, channel_data(kChannel, pattern(9, 1)));
  EXPECT_EQ(relay(other_ip, maps, kNow).verdict, Verdict::kPass);  // no key for that address
  const Frame other_relay = make_frame(kPeer, ip("203.0.113.9"), 7000, 50000, pattern(9, 1));
  EXPECT_EQ(relay(other_relay, maps, kNow).verdict, Verdict::kPass);
}

TEST(KernelRelayRewrite, WhatUserSpaceMustDecideGoesUpUnchanged) {
  const Maps maps = binding();
  const auto payload = pattern(20, 3);
  auto pass = [&](const Frame& in, std::uint64_t now = kNow) {
    const Outcome out = relay(in, maps, now);
    EXPECT_EQ(out.verdict, Verdict::kPass);
    EXPECT_EQ(out.frame, in);
  };
  const Frame good = make_frame(kClient, kListener, 40000, 3478, channel_data(kChannel, payload));
  pass(good, kNow + 10'000'000'000ULL);                 // past the route's expiry
  pass(good, kNow + 10'000'000'000ULL - 4'000'000ULL);  // in its last 5 ms
  pass(make_frame(kClient, kListener, 40000, 3478, channel_data(0x4002, payload)));    // no binding
  pass(make_frame(kClient, kListener, 40001, 3478, channel_data(kChannel, payload)));  // other port
  pass(make_frame(kPeer, kRelay, 7001, 50000, payload));                               // other peer
  auto padded = channel_data(kChannel, payload);
  padded.push_back(0);  // a length that does not match the datagram (padding): user space
  pass(make_frame(kClient, kListener, 40000, 3478, padded));
  pass(make_frame(kClient, kListener, 40000, 3478, {0x00, 0x01, 0x00, 0x00}));  // STUN
  Frame pending = good;  // a local sender's: only the pseudo-header sum, for a device to finish
  std::uint32_t sum =
      17u + static_cast<std::uint32_t>(TR_UDP_LEN + TR_CHANNEL_LEN + payload.size());
  sum = ones_sum(good.data() + TR_ETH_LEN + 12, 8, sum);
  tr_store16(pending.data() + TR_UDP_AT + 6, static_cast<std::uint16_t>(sum));
  pass(pending);
  Frame bad_header = good;
  bad_header[TR_ETH_LEN + 8] = 63;  // TTL changed, header checksum not: the stack drops it
  pass(bad_header);
  Frame none = good;
  none[TR_UDP_AT + 6] = none[TR_UDP_AT + 7] = 0;  // no UDP checksum
  pass(none);
  Frame fragment = good;
  fragment[TR_ETH_LEN + 6] = 0x20;  // more fragments
  pass(fragment);
  Frame options = good;
  options[TR_ETH_LEN] = 0x46;  // an IPv4 header with options
  pass(options);
  Frame tcp = good;
  tcp[TR_ETH_LEN + 9] = 6;
  pass(tcp);
  pass(Frame(good.begin(), good.begin() + 40));  // cut short
  // Larger than tern reads (4,096 bytes of payload): user space drops it, so must this.
  pass(make_frame(kPeer, kRelay, 7000, 50000, pattern(4097, 2)));
  EXPECT_EQ(relay(make_frame(kPeer, kRelay, 7000, 50000, pattern(4096, 2)), maps, kNow).verdict,
            Verdict::kRedirect);
}

TEST(KernelRelayRewrite, AChecksumThatDoesNotAddUpStillDoesNotAfterwards) {
  const Maps maps = binding();
  Frame bad = make_frame(kClient, kListener, 40000, 3478, channel_data(kChannel, pattern(30, 7)));
  bad.back() ^= 1;  // corrupted on the way: the receiver must still see that it is
  ASSERT_FALSE(udp_checksum_valid(bad));
  const Outcome out = relay(bad, maps, kNow);
  ASSERT_EQ(out.verdict, Verdict::kRedirect);
  EXPECT_FALSE(udp_checksum_valid(out.frame));
  EXPECT_EQ(ones_sum(out.frame.data() + TR_ETH_LEN, TR_IP_LEN), 0xffffu);
}

}  // namespace
}  // namespace tern::test::kernel_relay
