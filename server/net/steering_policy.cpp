// pack_worker: first worker with room, else the least loaded.
#include "steering_policy.hpp"

namespace tern::net {

unsigned pack_worker(std::span<const WorkerLoad> loads, const PackLimits& limits) {
  for (std::size_t i = 0; i < loads.size(); ++i) {
    if (loads[i].allocations < limits.allocations && loads[i].busy < limits.busy) {
      return static_cast<unsigned>(i);
    }
  }
  // Every worker is full or busy: the fewest allocations among those not busy, else the least
  // busy.
  std::size_t best = 0;
  auto better = [&](const WorkerLoad& a, const WorkerLoad& b) {
    const bool a_idle = a.busy < limits.busy;
    const bool b_idle = b.busy < limits.busy;
    if (a_idle != b_idle) return a_idle;
    return a_idle ? a.allocations < b.allocations : a.busy < b.busy;
  };
  for (std::size_t i = 1; i < loads.size(); ++i) {
    if (better(loads[i], loads[best])) best = i;
  }
  return static_cast<unsigned>(best);
}

}  // namespace tern::net
