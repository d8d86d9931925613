// The packet logic of the kernel relay (relay.bpf.c) without BPF helpers, so that a user-space
// test compiles and fuzzes the very code the kernel runs: parse an Ethernet/IPv4/UDP frame, and
// rewrite ChannelData from a client into a datagram to its peer, or a peer's datagram into
// ChannelData to the client (RFC 8656 §12). Anything it is unsure of is left to user space.
#ifndef TERN_OFFLOAD_REWRITE_H
#define TERN_OFFLOAD_REWRITE_H

#include <linux/types.h>

#ifdef __bpf__
#define TR_INLINE static __attribute__((always_inline)) inline
#else
#define TR_INLINE static inline
#endif

#define TR_ETH_LEN 14
#define TR_IP_LEN 20
#define TR_UDP_LEN 8
#define TR_CHANNEL_LEN 4
#define TR_UDP_AT (TR_ETH_LEN + TR_IP_LEN)  // where the UDP header starts (no IP options)
#define TR_PAYLOAD_AT (TR_UDP_AT + TR_UDP_LEN)
#define TR_MAX_PAYLOAD 4096  // tern reads no larger datagram (and drops it): neither does this

// Route flags.
#define TR_DONT_FRAGMENT 2  // send with DF set

// ChannelData from a client: its source, the address it was sent to, and the channel. Addresses and
// ports in network order, the channel in host order.
struct tr_client_key {
  __u32 client_ip;
  __u32 local_ip;
  __u16 client_port;
  __u16 local_port;
  __u16 channel;
  __u16 zero;
};

// A datagram from a peer to a relayed transport address.
struct tr_peer_key {
  __u32 peer_ip;
  __u32 relay_ip;
  __u16 peer_port;
  __u16 relay_port;
};

// Where a matched datagram goes: from src to dst (network order), with `channel` for the
// client side; valid until `expires_ns` (CLOCK_MONOTONIC); counted in slot `slot`.
struct tr_route {
  __u32 src_ip;
  __u32 dst_ip;
  __u16 src_port;
  __u16 dst_port;
  __u16 channel;
  __u8 flags;
  __u8 ttl;
  __u32 slot;
  __u32 zero;
  __u64 expires_ns;
};

// Per-binding counters (one slot, both directions).
struct tr_counters {
  __u64 to_peer_packets;
  __u64 to_peer_bytes;
  __u64 to_client_packets;
  __u64 to_client_bytes;
};

// What the parser read from a frame; ports and addresses in network order, lengths in host.
struct tr_frame {
  __u32 saddr;
  __u32 daddr;
  __u16 sport;
  __u16 dport;
  __u16 udp_len;    // UDP header and payload
  __u16 udp_check;  // as sent (network order); 0 = none
  __u16 channel;    // host order; 0 when the payload is not exactly one ChannelData message
};

TR_INLINE __u16 tr_load16(const __u8* p) {
  return (__u16)((p[0] << 8) | p[1]);
}

TR_INLINE void tr_store16(__u8* p, __u16 v) {
  p[0] = (__u8)(v >> 8);
  p[1] = (__u8)v;
}

// A network-order 16-bit value as the number it encodes (the host is little-endian or not:
// load through bytes).
TR_INLINE __u16 tr_net16(__u16 v) {
  const __u8* b = (const __u8*)&v;
  return (__u16)((b[0] << 8) | b[1]);
}

TR_INLINE __u32 tr_sum_ip(__u32 acc, __u32 ip) {
  const __u8* b = (const __u8*)&ip;
  return acc + (__u32)((b[0] << 8) | b[1]) + (__u32)((b[2] << 8) | b[3]);
}

TR_INLINE __u16 tr_fold(__u32 acc) {
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return (__u16)acc;
}

// Reads the headers of an IPv4/UDP frame without options or fragments, whose lengths agree
// with each other and with the frame. 0 = not one (leave it to user space).
TR_INLINE int tr_parse(const __u8* data, const __u8* end, struct tr_frame* f) {
  if (data + TR_PAYLOAD_AT > end) return 0;
  if (data[12] != 0x08 || data[13] != 0x00) return 0;  // IPv4
  const __u8* ip = data + TR_ETH_LEN;
  if (ip[0] != 0x45) return 0;                      // version 4, no options
  if ((tr_load16(ip + 6) & 0x3fff) != 0) return 0;  // a fragment (MF or an offset)
  if (ip[9] != 17) return 0;                        // UDP
  __u32 sum = 0;
  for (int i = 0; i < TR_IP_LEN; i += 2) sum += tr_load16(ip + i);
  if (tr_fold(sum) != 0xffff) return 0;  // a bad header checksum: the stack would drop it
  const __u16 total = tr_load16(ip + 2);
  if (total < TR_IP_LEN + TR_UDP_LEN || ip + total > end) return 0;
  const __u8* udp = data + TR_UDP_AT;
  __builtin_memcpy(&f->saddr, ip + 12, 4);
  __builtin_memcpy(&f->daddr, ip + 16, 4);
  __builtin_memcpy(&f->sport, udp + 0, 2);
  __builtin_memcpy(&f->dport, udp + 2, 2);
  f->udp_len = tr_load16(udp + 4);
  __builtin_memcpy(&f->udp_check, udp + 6, 2);
  f->channel = 0;
  if (f->udp_len != total - TR_IP_LEN) return 0;
  if (f->udp_len > TR_UDP_LEN + TR_MAX_PAYLOAD) return 0;
  if (f->udp_len >= TR_UDP_LEN + TR_CHANNEL_LEN && data + TR_PAYLOAD_AT + TR_CHANNEL_LEN <= end) {
    const __u16 number = tr_load16(data + TR_PAYLOAD_AT);
    const __u16 length = tr_load16(data + TR_PAYLOAD_AT + 2);
    // 0x4000-0x7FFF (the top two bits 01), and exactly one message with no padding.
    if ((number >> 14) == 1 && length == f->udp_len - TR_UDP_LEN - TR_CHANNEL_LEN) {
      f->channel = number;
    }
  }
  return 1;
}

// Whether the frame's UDP checksum is final, so that updating it for the new headers gives the
// new one: not when there is none (0), nor while it still holds only the pseudo-header sum
// that a device is to complete (CHECKSUM_PARTIAL, a sender on this host): those go up. A
// final checksum is not verified: one that does not add up still does not after the rewrite,
// and the receiver drops the datagram where tern's socket would have.
TR_INLINE int tr_checksum_final(const struct tr_frame* f) {
  if (f->udp_check == 0) return 0;
  __u32 acc = tr_sum_ip(tr_sum_ip(17u + f->udp_len, f->saddr), f->daddr);
  return tr_net16(f->udp_check) != tr_fold(acc);
}

// The new IPv4 header (20 bytes at ip) for a datagram of `udp_len` from src to dst.
TR_INLINE void tr_write_ip(__u8* ip, const struct tr_route* r, __u32 src, __u16 udp_len) {
  ip[0] = 0x45;
  ip[1] = 0;  // DSCP and ECN: none, as tern's relay sockets send
  tr_store16(ip + 2, (__u16)(TR_IP_LEN + udp_len));
  tr_store16(ip + 4, 0);  // identification: 0, as Linux sends DF datagrams of unconnected sockets
  tr_store16(ip + 6, (r->flags & TR_DONT_FRAGMENT) ? 0x4000 : 0);
  ip[8] = r->ttl;
  ip[9] = 17;
  tr_store16(ip + 10, 0);
  __builtin_memcpy(ip + 12, &src, 4);
  __builtin_memcpy(ip + 16, &r->dst_ip, 4);
  __u32 acc = 0;
  for (int i = 0; i < TR_IP_LEN; i += 2) acc += tr_load16(ip + i);
  tr_store16(ip + 10, (__u16)~tr_fold(acc));
}

// The UDP checksum after the headers change (RFC 1624: add the new words, subtract the old).
// `removed`/`added`: the ChannelData header words taken away or put in front of the payload.
TR_INLINE __u16 tr_udp_check(const struct tr_frame* f, __u32 src, const struct tr_route* r,
                             __u16 new_len, __u16 ch_number, __u16 ch_length, int removed) {
  __u32 acc = (__u16)~tr_net16(f->udp_check);
  // Old words out (each as its ones' complement).
  acc = tr_sum_ip(acc, ~f->saddr);
  acc = tr_sum_ip(acc, ~f->daddr);
  acc += (__u16)~tr_net16(f->sport);
  acc += (__u16)~tr_net16(f->dport);
  acc += 2u * (__u16)~f->udp_len;
  // New words in.
  acc = tr_sum_ip(acc, src);
  acc = tr_sum_ip(acc, r->dst_ip);
  acc += tr_net16(r->src_port);
  acc += tr_net16(r->dst_port);
  acc += 2u * new_len;
  if (removed) {
    acc += (__u16)~ch_number;
    acc += (__u16)~ch_length;
  } else {
    acc += ch_number;
    acc += ch_length;
  }
  __u16 check = (__u16)~tr_fold(acc);
  return check == 0 ? 0xffff : check;  // 0 means "no checksum" in UDP over IPv4
}

TR_INLINE void tr_write_eth(__u8* data, const __u8* dmac, const __u8* smac) {
  for (int i = 0; i < 6; ++i) {
    data[i] = dmac[i];
    data[6 + i] = smac[i];
  }
  tr_store16(data + 12, 0x0800);  // IPv4 (XDP moved the frame's start: nothing before it stays)
}

// Ethernet, IPv4 and UDP headers of a datagram of `udp_len` from src to the route's destination.
TR_INLINE void tr_write_headers(__u8* data, const struct tr_route* r, __u32 src, __u16 udp_len,
                                __u16 check, const __u8* dmac, const __u8* smac) {
  tr_write_eth(data, dmac, smac);
  tr_write_ip(data + TR_ETH_LEN, r, src, udp_len);
  __u8* udp = data + TR_UDP_AT;
  __builtin_memcpy(udp + 0, &r->src_port, 2);
  __builtin_memcpy(udp + 2, &r->dst_port, 2);
  tr_store16(udp + 4, udp_len);
  tr_store16(udp + 6, check);
}

// After the client's frame lost 4 bytes in front of its payload (tc takes them out behind the
// IPv4 header, XDP at the front; either way the payload now starts at TR_PAYLOAD_AT and every
// header byte before it is written anew): a datagram from the relayed address to the peer. 0
// when the frame is not what `f` said.
TR_INLINE int tr_to_peer(__u8* data, const __u8* end, const struct tr_frame* f,
                         const struct tr_route* r, __u32 src, const __u8* dmac, const __u8* smac) {
  if (data + TR_PAYLOAD_AT > end) return 0;
  const __u16 new_len = (__u16)(f->udp_len - TR_CHANNEL_LEN);
  if (data + TR_UDP_AT + new_len > end) return 0;
  const __u16 length = (__u16)(new_len - TR_UDP_LEN);
  const __u16 check = tr_udp_check(f, src, r, new_len, f->channel, length, 1);
  tr_write_headers(data, r, src, new_len, check, dmac, smac);
  return 1;
}

// After the peer's frame gained 4 bytes in front of its payload (behind the IPv4 header at tc,
// at the front at XDP; the payload now starts at TR_PAYLOAD_AT + 4): ChannelData from the
// listener to the client.
TR_INLINE int tr_to_client(__u8* data, const __u8* end, const struct tr_frame* f,
                           const struct tr_route* r, __u32 src, const __u8* dmac,
                           const __u8* smac) {
  if (data + TR_PAYLOAD_AT + TR_CHANNEL_LEN > end) return 0;
  const __u16 new_len = (__u16)(f->udp_len + TR_CHANNEL_LEN);
  if (data + TR_UDP_AT + new_len > end) return 0;
  const __u16 length = (__u16)(f->udp_len - TR_UDP_LEN);
  const __u16 check = tr_udp_check(f, src, r, new_len, r->channel, length, 0);
  tr_write_headers(data, r, src, new_len, check, dmac, smac);
  tr_store16(data + TR_PAYLOAD_AT, r->channel);
  tr_store16(data + TR_PAYLOAD_AT + 2, length);
  return 1;
}

#endif
