// Kernel relay (relay.offload): at tc ingress or XDP, ChannelData from a client with a live channel
// binding leaves as a UDP datagram from its relayed address to the peer, and a datagram from
// that peer to the relayed address leaves as ChannelData to the client, without going up to
// tern. tern installs and removes the routes; anything without a route, past its expiry, or
// that the program is unsure of goes on unchanged (TR_GO_ON) and user space relays it.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
// clang-format off: the kernel's types first
#include <bpf/bpf_helpers.h>
// clang-format on

#include "rewrite.h"

#define AF_INET 2
// Not ours: the next program on the device (another tern, a CNI's) sees it, then the stack.
// TC_ACT_UNSPEC is tcx's TCX_NEXT and a clsact filter's "continue".
#define TR_GO_ON TC_ACT_UNSPEC
#define TR_MARGIN_NS (5ULL * 1000000ULL)  // the last 5 ms of a route are user space's

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, struct tr_client_key);
  __type(value, struct tr_route);
} clients SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, struct tr_peer_key);
  __type(value, struct tr_route);
} peers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, struct tr_counters);
} counters SEC(".maps");

static __attribute__((always_inline)) inline void count(__u32 slot, int to_peer, __u16 bytes) {
  struct tr_counters* c = bpf_map_lookup_elem(&counters, &slot);
  if (!c) return;
  if (to_peer) {
    c->to_peer_packets += 1;
    c->to_peer_bytes += bytes;
  } else {
    c->to_client_packets += 1;
    c->to_client_bytes += bytes;
  }
}

// What both hooks decide before they change anything: the frame's route and where it goes next
// (`fib`), or 0 when it is not the kernel relay's to send (user space gets it unchanged).
static __attribute__((always_inline)) inline struct tr_route* tr_decide(
    void* ctx, __u32 ingress, const __u8* data, const __u8* end, struct tr_frame* f, int* to_peer,
    struct bpf_fib_lookup* fib) {
  if (!tr_parse(data, end, f)) return 0;
  struct tr_route* route = 0;
  *to_peer = 0;
  if (f->channel != 0) {
    struct tr_client_key key = {f->saddr, f->daddr, f->sport, f->dport, f->channel, 0};
    route = bpf_map_lookup_elem(&clients, &key);
    *to_peer = route != 0;
  }
  if (!route) {
    struct tr_peer_key key = {f->saddr, f->daddr, f->sport, f->dport};
    route = bpf_map_lookup_elem(&peers, &key);
    if (!route) return 0;
  }
  if (bpf_ktime_get_ns() + TR_MARGIN_NS >= route->expires_ns) return 0;
  if (!tr_checksum_final(f)) return 0;
  if (!*to_peer && f->udp_len > 0xffff - TR_IP_LEN - TR_CHANNEL_LEN) return 0;
  const __u16 new_len =
      *to_peer ? (__u16)(f->udp_len - TR_CHANNEL_LEN) : (__u16)(f->udp_len + TR_CHANNEL_LEN);
  fib->family = AF_INET;
  fib->l4_protocol = 17;
  fib->sport = route->src_port;
  fib->dport = route->dst_port;
  fib->tot_len = (__u16)(TR_IP_LEN + new_len);
  fib->ifindex = ingress;
  fib->ipv4_src = route->src_ip;
  fib->ipv4_dst = route->dst_ip;
  if (bpf_fib_lookup(ctx, fib, sizeof *fib, 0) != BPF_FIB_LKUP_RET_SUCCESS) {
    return 0;  // no route, a local destination, no neighbour yet, too large: user space
  }
  return route;
}

// The headers of the frame whose room was already adjusted by 4 bytes (taken out in front of
// the payload towards the peer, put in towards the client), and the binding's counters.
static __attribute__((always_inline)) inline int tr_rewrite(__u8* data, const __u8* end,
                                                            const struct tr_frame* f,
                                                            const struct tr_route* r, int to_peer,
                                                            const struct bpf_fib_lookup* fib) {
  const int ok = to_peer ? tr_to_peer(data, end, f, r, r->src_ip, fib->dmac, fib->smac)
                         : tr_to_client(data, end, f, r, r->src_ip, fib->dmac, fib->smac);
  if (ok) {
    count(r->slot, to_peer,
          (__u16)(to_peer ? f->udp_len - TR_UDP_LEN - TR_CHANNEL_LEN : f->udp_len - TR_UDP_LEN));
  }
  return ok;
}

SEC("tc")
int tern_relay(struct __sk_buff* skb) {
  if (skb->pkt_type != 0) return TR_GO_ON;  // not PACKET_HOST: not addressed to this host
  if (skb->gso_segs > 1) return TR_GO_ON;   // an aggregate of several datagrams
  if (skb->vlan_present) return TR_GO_ON;   // a tag the redirect would carry elsewhere
  struct tr_frame f = {};
  struct bpf_fib_lookup fib = {};
  int to_peer = 0;
  struct tr_route* route = tr_decide(skb, skb->ingress_ifindex, (__u8*)(long)skb->data,
                                     (__u8*)(long)skb->data_end, &f, &to_peer, &fib);
  if (!route) return TR_GO_ON;
  const struct tr_route r = *route;
  if (bpf_skb_adjust_room(skb, to_peer ? -TR_CHANNEL_LEN : TR_CHANNEL_LEN, BPF_ADJ_ROOM_NET, 0)) {
    return TR_GO_ON;
  }
  if (!tr_rewrite((__u8*)(long)skb->data, (__u8*)(long)skb->data_end, &f, &r, to_peer, &fib)) {
    return TC_ACT_SHOT;  // changed already, and not as expected: never sent half-made
  }
  return bpf_redirect(fib.ifindex, 0);
}

// The same at XDP, before the kernel builds a socket buffer: on drivers with native XDP
// (relay.offload_hook: xdp). The frame is as it came off the wire: no aggregate, no stripped tag.
SEC("xdp")
int tern_relay_xdp(struct xdp_md* ctx) {
  const __u8* head = (__u8*)(long)ctx->data;
  if (head + TR_ETH_LEN > (__u8*)(long)ctx->data_end) return XDP_PASS;
  if (head[0] & 1) return XDP_PASS;  // a group address: not for this host alone
  struct tr_frame f = {};
  struct bpf_fib_lookup fib = {};
  int to_peer = 0;
  struct tr_route* route =
      tr_decide(ctx, ctx->ingress_ifindex, head, (__u8*)(long)ctx->data_end, &f, &to_peer, &fib);
  if (!route) return XDP_PASS;
  const struct tr_route r = *route;
  if (bpf_xdp_adjust_head(ctx, to_peer ? TR_CHANNEL_LEN : -TR_CHANNEL_LEN)) return XDP_PASS;
  if (!tr_rewrite((__u8*)(long)ctx->data, (__u8*)(long)ctx->data_end, &f, &r, to_peer, &fib)) {
    return XDP_DROP;  // changed already, and not as expected: never sent half-made
  }
  return bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
