// Kernel side of UDP steering: picks the worker socket of a SO_REUSEPORT group for each datagram.
// A client with an allocation goes to the worker that holds it (`flows`); any other source goes
// to the worker the runtime names in `placement`, and stays there for kStickyNs (`recent`), so
// that a request's retransmissions and the requests that follow it (401, then the signed
// Allocate) reach one worker while placement changes. Whatever fails falls back to the
// kernel's own 5-tuple hash (SK_PASS with no socket selected).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// The client's address (IPv4 as ::ffff:a.b.c.d) and port, in network order; the group's own
// address is fixed per group, so it is not part of the key.
struct flow_key {
  __u8 addr[16];
  __u16 port;
  __u16 zero;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 262144);
  __type(key, struct flow_key);
  __type(value, __u32);
} flows SEC(".maps");

// Sources placed lately, and when (least recently used ones go first when it is full).
struct placed {
  __u32 worker;
  __u32 zero;
  __u64 at_ns;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct flow_key);
  __type(value, struct placed);
} recent SEC(".maps");

#define kStickyNs (30ULL * 1000000000ULL)

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} placement SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} sockets SEC(".maps");

SEC("sk_reuseport")
int steer(struct sk_reuseport_md* ctx) {
  struct flow_key key = {};
  __u16 port = 0;
  if (bpf_skb_load_bytes(ctx, 0, &port, sizeof port) != 0) return SK_PASS;  // UDP source port
  key.port = port;
  if (ctx->eth_protocol == bpf_htons(ETH_P_IP)) {
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    if (bpf_skb_load_bytes_relative(ctx, 12, &key.addr[12], 4, BPF_HDR_START_NET) != 0) {
      return SK_PASS;
    }
  } else if (ctx->eth_protocol == bpf_htons(ETH_P_IPV6)) {
    if (bpf_skb_load_bytes_relative(ctx, 8, key.addr, 16, BPF_HDR_START_NET) != 0) {
      return SK_PASS;
    }
  } else {
    return SK_PASS;
  }
  __u32 index = 0;
  __u32* pinned = bpf_map_lookup_elem(&flows, &key);
  if (pinned) {
    index = *pinned;
  } else {
    const __u64 now = bpf_ktime_get_ns();
    struct placed* seen = bpf_map_lookup_elem(&recent, &key);
    if (seen && now - seen->at_ns < kStickyNs) {
      index = seen->worker;
    } else {
      __u32 zero = 0;
      __u32* placed = bpf_map_lookup_elem(&placement, &zero);
      if (!placed) return SK_PASS;
      index = *placed;
      struct placed entry = {index, 0, now};
      bpf_map_update_elem(&recent, &key, &entry, BPF_ANY);
    }
  }
  bpf_sk_select_reuseport(ctx, &sockets, &index, 0);  // an empty slot: the kernel's hash
  return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
