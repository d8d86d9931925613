// SlotCounters: per-CPU counter slots of the kernel relay, read singly or in batches.
#include "slot_counters.hpp"

#if TERN_HAVE_OFFLOAD
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>

#include "bpf/rewrite.h"

namespace tern::offload {

namespace {

// One CPU's counters of a slot, added to `t`.
void add(KernelTraffic& t, const tr_counters& v) {
  t.to_peer_packets += v.to_peer_packets;
  t.to_peer_bytes += v.to_peer_bytes;
  t.to_client_packets += v.to_client_packets;
  t.to_client_bytes += v.to_client_bytes;
}

}  // namespace

bool SlotCounters::reset(std::uint32_t slot) const {
  std::vector<tr_counters> zero(static_cast<std::size_t>(cpus_));
  return bpf_map_update_elem(map_, &slot, zero.data(), BPF_ANY) == 0;
}

KernelTraffic SlotCounters::read(std::uint32_t slot) const {
  std::vector<tr_counters> values(static_cast<std::size_t>(cpus_));
  KernelTraffic t;
  if (bpf_map_lookup_elem(map_, &slot, values.data()) != 0) return t;
  for (const auto& v : values) add(t, v);
  return t;
}

std::vector<KernelTraffic> SlotCounters::read_all(std::uint32_t slots) const {
  std::vector<KernelTraffic> out(slots);
  constexpr std::uint32_t kChunk = 4096;
  const auto per_slot = static_cast<std::size_t>(cpus_);
  std::vector<std::uint32_t> keys(kChunk);
  std::vector<tr_counters> values(kChunk * per_slot);
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  std::uint32_t token = 0;
  std::uint32_t done = 0;
  while (done < slots) {
    std::uint32_t count = std::min(kChunk, slots - done);
    const int rc = bpf_map_lookup_batch(map_, done == 0 ? nullptr : &token, &token, keys.data(),
                                        values.data(), &count, &opts);
    if (rc != 0 && errno != ENOENT) {
      for (std::uint32_t slot = done; slot < slots; ++slot) out[slot] = read(slot);
      return out;
    }
    for (std::uint32_t k = 0; k < count; ++k) {
      if (keys[k] >= slots) continue;
      KernelTraffic& t = out[keys[k]];
      for (std::size_t c = 0; c < per_slot; ++c) add(t, values[k * per_slot + c]);
    }
    done += count;
    if (rc != 0 || count == 0) break;  // ENOENT: the end of the map
  }
  return out;
}

KernelTraffic SlotCounters::since(const KernelTraffic& now, const KernelTraffic& before) noexcept {
  return {now.to_peer_packets - before.to_peer_packets, now.to_peer_bytes - before.to_peer_bytes,
          now.to_client_packets - before.to_client_packets,
          now.to_client_bytes - before.to_client_bytes};
}

}  // namespace tern::offload
#endif
