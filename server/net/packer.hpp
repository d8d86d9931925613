// Packing new UDP clients onto as few workers as their load allows: samples each worker
// thread's CPU time and UDP allocations, and tells UdpSteering where new clients go.
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "steering_policy.hpp"
#include "udp_steering.hpp"

namespace tern::net {

class Packer {
 public:
  // `allocations(i)`: worker i's UDP allocations, readable from any thread.
  Packer(std::unique_ptr<UdpSteering> steering, std::size_t workers, PackLimits limits,
         std::function<std::size_t(unsigned)> allocations);

  UdpSteering& steering() noexcept { return *steering_; }
  // A worker's allocations changed (any thread): new clients may go elsewhere now.
  void decide();
  // Main thread, periodically: how busy each worker's thread was since the last sample.
  void sample(const std::vector<pthread_t>& threads);
  unsigned placed() const noexcept { return placed_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<UdpSteering> steering_;
  PackLimits limits_;
  std::function<std::size_t(unsigned)> allocations_;
  std::unique_ptr<std::atomic<double>[]> busy_;
  std::size_t workers_;
  std::vector<std::int64_t> cpu_ns_;  // main thread only
  std::chrono::steady_clock::time_point sampled_;
  std::mutex deciding_;
  std::atomic<unsigned> placed_{0};
};

}  // namespace tern::net
