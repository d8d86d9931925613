// Which worker new UDP clients go to when steering packs them (UdpSteering::place).
#pragma once

#include <cstddef>
#include <span>

namespace tern::net {

struct WorkerLoad {
  std::size_t allocations = 0;  // UDP allocations it holds
  double busy = 0;              // share of one CPU its thread used lately, 0..1 (or more)
};

struct PackLimits {
  std::size_t allocations = 256;  // a worker that holds this many takes no more while others can
  double busy = 0.5;              // nor one busier than this
};

// The first worker (in order) under both limits: at low load one worker wakes for all, the
// others sleep. When every worker is at a limit: the one with fewest allocations among those
// not busy (a burst of new calls spreads evenly), else the least busy.
unsigned pack_worker(std::span<const WorkerLoad> loads, const PackLimits& limits);

}  // namespace tern::net
