// The kernel relay's per-binding counters (the program's per-CPU `counters` map): one slot per
// binding, read back and summed over CPUs. Linux with libbpf only.
#pragma once

#include <cstdint>
#include <vector>

#include "kernel_relay.hpp"

namespace tern::offload {

class SlotCounters {
 public:
  SlotCounters() = default;
  SlotCounters(int map, int cpus) : map_(map), cpus_(cpus) {}
  bool reset(std::uint32_t slot) const;  // zero on every CPU, for a new binding
  KernelTraffic read(std::uint32_t slot) const;
  // Slots 0 to slots - 1, in batches of 4,096 slots (one system call each) instead of one call
  // per slot; per slot where the kernel has no batch lookup (< 5.6).
  std::vector<KernelTraffic> read_all(std::uint32_t slots) const;
  static KernelTraffic since(const KernelTraffic& now, const KernelTraffic& before) noexcept;

 private:
  int map_ = -1;
  int cpus_ = 1;
};

}  // namespace tern::offload
