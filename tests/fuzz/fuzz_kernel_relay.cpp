// The kernel relay's rewrite on arbitrary frames (the first byte says which routes the maps
// hold for the frame's own addresses, and whether at tc or XDP): it never reads or writes past the
// frame (ASan), leaves what it passes up untouched, and what it sends has a valid IPv4 header, a
// UDP checksum as valid as the one received, the route's addresses and the payload it was given,
// and only where a route exists.
#include <cstddef>
#include <cstdint>

#include "offload/rewrite_model.hpp"
#include "require.hpp"

using namespace tern::test::kernel_relay;
using tern::fuzz::require;

namespace {
constexpr std::uint64_t kNow = 1'000'000'000'000ULL;
constexpr std::uint32_t kRouteTo = 0x0a0b0c0d;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  const Frame in(data + 1, data + size);
  Maps maps;
  tr_frame f{};
  if (tr_parse(in.data(), in.data() + in.size(), &f)) {
    const std::uint8_t flags = static_cast<std::uint8_t>(mode >> 4);
    const std::uint64_t expires = (mode & 0x40) ? kNow : kNow + 60'000'000'000ULL;
    const tr_route route{0x01020304, kRouteTo, 0x1111, 0x2222, 0x4abc, flags, 64, 0, 0, expires};
    if (mode & 1) maps.add_client({f.saddr, f.daddr, f.sport, f.dport, f.channel, 0}, route);
    if (mode & 4) maps.add_peer({f.saddr, f.daddr, f.sport, f.dport}, route);
  }
  const Outcome out = relay(in, maps, kNow, (mode & 2) ? Hook::kXdp : Hook::kTc);
  if (out.verdict == Verdict::kPass) {
    require(out.frame == in);
    return 0;
  }
  require(out.verdict == Verdict::kRedirect);  // the model never writes half a frame
  require(out.to_peer ? (mode & 1) != 0 : (mode & 4) != 0);
  // An IPv4 frame whose new header adds up; the UDP checksum does exactly when the one received
  // did.
  require(out.frame[12] == 0x08 && out.frame[13] == 0x00);
  require(ones_sum(out.frame.data() + TR_ETH_LEN, TR_IP_LEN) == 0xffff);
  require(udp_checksum_valid(out.frame) == udp_checksum_valid(in));
  std::uint32_t dst = 0;
  std::memcpy(&dst, out.frame.data() + TR_ETH_LEN + 16, 4);
  require(dst == kRouteTo);
  const std::size_t in_payload = TR_PAYLOAD_AT + (out.to_peer ? TR_CHANNEL_LEN : 0);
  const std::size_t out_payload = TR_PAYLOAD_AT + (out.to_peer ? 0 : TR_CHANNEL_LEN);
  const std::size_t n = f.udp_len - TR_UDP_LEN - (out.to_peer ? TR_CHANNEL_LEN : 0);
  require(out.frame.size() >= out_payload + n && in.size() >= in_payload + n);
  require(std::equal(in.begin() + static_cast<std::ptrdiff_t>(in_payload),
                     in.begin() + static_cast<std::ptrdiff_t>(in_payload + n),
                     out.frame.begin() + static_cast<std::ptrdiff_t>(out_payload)));
  return 0;
}
