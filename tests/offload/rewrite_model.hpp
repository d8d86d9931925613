// The kernel relay's steps (server/offload/bpf/relay.bpf.c) in user space around the very same
// rewrite.h: parse, look the route up, check its expiry and the UDP checksum's state, make or
// take 4 bytes of room as the hook does (tc: bpf_skb_adjust_room(BPF_ADJ_ROOM_NET), behind the
// IPv4 header; XDP: bpf_xdp_adjust_head, at the front; new room holds junk), rewrite. For unit
// tests and fuzzing.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "offload/bpf/rewrite.h"

namespace tern::test::kernel_relay {

using Frame = std::vector<std::uint8_t>;

template <class T>
std::array<std::uint8_t, sizeof(T)> key_bytes(const T& key) {
  std::array<std::uint8_t, sizeof(T)> out{};
  std::memcpy(out.data(), &key, sizeof(T));
  return out;
}

struct Maps {
  std::map<std::array<std::uint8_t, sizeof(tr_client_key)>, tr_route> clients;
  std::map<std::array<std::uint8_t, sizeof(tr_peer_key)>, tr_route> peers;
  void add_client(const tr_client_key& k, const tr_route& r) { clients[key_bytes(k)] = r; }
  void add_peer(const tr_peer_key& k, const tr_route& r) { peers[key_bytes(k)] = r; }
};

enum class Verdict { kPass, kRedirect, kDrop };
enum class Hook { kTc, kXdp };

struct Outcome {
  Verdict verdict = Verdict::kPass;
  bool to_peer = false;
  Frame frame;  // as it leaves (the input, untouched, for kPass)
};

inline const std::uint8_t kDmac[6] = {2, 0, 0, 0, 9, 1};
inline const std::uint8_t kSmac[6] = {2, 0, 0, 0, 9, 2};

inline std::uint32_t ones_sum(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    acc += static_cast<std::uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return acc;
}

// The UDP checksum of an Ethernet/IPv4/UDP frame is present and adds up.
inline bool udp_checksum_valid(const Frame& f) {
  if (f.size() < TR_PAYLOAD_AT) return false;
  const std::size_t udp_len = static_cast<std::size_t>(f[TR_UDP_AT + 4] << 8 | f[TR_UDP_AT + 5]);
  if (udp_len < TR_UDP_LEN || TR_UDP_AT + udp_len > f.size()) return false;
  if (f[TR_UDP_AT + 6] == 0 && f[TR_UDP_AT + 7] == 0) return false;
  std::uint8_t pseudo[12];
  std::memcpy(pseudo, f.data() + TR_ETH_LEN + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 17;
  pseudo[10] = static_cast<std::uint8_t>(udp_len >> 8);
  pseudo[11] = static_cast<std::uint8_t>(udp_len);
  return ones_sum(f.data() + TR_UDP_AT, udp_len, ones_sum(pseudo, 12)) == 0xffff;
}

// Both checksums of an Ethernet/IPv4/UDP frame add up (the UDP one is present).
inline bool checksums_valid(const Frame& f) {
  return f.size() >= TR_PAYLOAD_AT && ones_sum(f.data() + TR_ETH_LEN, TR_IP_LEN) == 0xffff &&
         udp_checksum_valid(f);
}

// A frame from src to dst (network order) carrying `payload`, with valid checksums.
inline Frame make_frame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                        std::uint16_t dport, const std::vector<std::uint8_t>& payload) {
  Frame f(TR_PAYLOAD_AT + payload.size());
  f[12] = 0x08;
  std::uint8_t* ip = f.data() + TR_ETH_LEN;
  const auto total = static_cast<std::uint16_t>(TR_IP_LEN + TR_UDP_LEN + payload.size());
  ip[0] = 0x45;
  tr_store16(ip + 2, total);
  ip[6] = 0x40;
  ip[8] = 64;
  ip[9] = 17;
  std::memcpy(ip + 12, &src, 4);
  std::memcpy(ip + 16, &dst, 4);
  tr_store16(ip + 10, static_cast<std::uint16_t>(~ones_sum(ip, TR_IP_LEN)));
  std::uint8_t* udp = f.data() + TR_UDP_AT;
  tr_store16(udp, sport);
  tr_store16(udp + 2, dport);
  tr_store16(udp + 4, static_cast<std::uint16_t>(TR_UDP_LEN + payload.size()));
  std::copy(payload.begin(), payload.end(), udp + TR_UDP_LEN);
  std::uint8_t pseudo[12];
  std::memcpy(pseudo, ip + 12, 8);
  pseudo[8] = 0;
  pseudo[9] = 17;
  tr_store16(pseudo + 10, static_cast<std::uint16_t>(TR_UDP_LEN + payload.size()));
  std::uint16_t check =
      static_cast<std::uint16_t>(~ones_sum(udp, TR_UDP_LEN + payload.size(), ones_sum(pseudo, 12)));
  tr_store16(udp + 6, check == 0 ? 0xffff : check);
  return f;
}

// What relay.bpf.c does with `in` at time `now_ns`.
inline Outcome relay(const Frame& in, const Maps& maps, std::uint64_t now_ns,
                     Hook hook = Hook::kTc) {
  Outcome out{Verdict::kPass, false, in};
  tr_frame f{};
  if (!tr_parse(in.data(), in.data() + in.size(), &f)) return out;
  const tr_route* route = nullptr;
  bool to_peer = false;
  if (f.channel != 0) {
    const tr_client_key key{f.saddr, f.daddr, f.sport, f.dport, f.channel, 0};
    auto it = maps.clients.find(key_bytes(key));
    if (it != maps.clients.end()) {
      route = &it->second;
      to_peer = true;
    }
  }
  if (route == nullptr) {
    const tr_peer_key key{f.saddr, f.daddr, f.sport, f.dport};
    auto it = maps.peers.find(key_bytes(key));
    if (it == maps.peers.end()) return out;
    route = &it->second;
  }
  if (now_ns + 5'000'000 >= route->expires_ns) return out;
  if (!tr_checksum_final(&f)) return out;
  if (!to_peer && f.udp_len > 0xffff - TR_IP_LEN - TR_CHANNEL_LEN) return out;
  const std::uint32_t src = route->src_ip;
  Frame moved = in;
  const auto at = moved.begin() + (hook == Hook::kTc ? TR_UDP_AT : 0);
  if (to_peer) {
    moved.erase(at, at + TR_CHANNEL_LEN);
  } else {
    moved.insert(at, TR_CHANNEL_LEN, std::uint8_t{0xa5});
  }
  std::uint8_t* data = moved.data();
  const std::uint8_t* end = data + moved.size();
  const int ok = to_peer ? tr_to_peer(data, end, &f, route, src, kDmac, kSmac)
                         : tr_to_client(data, end, &f, route, src, kDmac, kSmac);
  out.verdict = ok ? Verdict::kRedirect : Verdict::kDrop;
  out.to_peer = to_peer;
  out.frame = std::move(moved);
  return out;
}

}  // namespace tern::test::kernel_relay
