// Packer: CPU time per worker thread from its clock (pthread_getcpuclockid), placement on change.
#include "packer.hpp"

#include <time.h>

namespace tern::net {

Packer::Packer(std::unique_ptr<UdpSteering> steering, std::size_t workers, PackLimits limits,
               std::function<std::size_t(unsigned)> allocations)
    : steering_(std::move(steering)),
      limits_(limits),
      allocations_(std::move(allocations)),
      busy_(std::make_unique<std::atomic<double>[]>(workers)),
      workers_(workers),
      cpu_ns_(workers, -1),
      sampled_(std::chrono::steady_clock::now()) {
  for (std::size_t i = 0; i < workers_; ++i) busy_[i] = 0;
  steering_->place(0);
}

void Packer::decide() {
  std::lock_guard lock(deciding_);  // loads read inside: a later decision never sees older ones
  std::vector<WorkerLoad> loads(workers_);
  for (std::size_t i = 0; i < workers_; ++i) {
    loads[i] = {allocations_(static_cast<unsigned>(i)), busy_[i].load(std::memory_order_relaxed)};
  }
  const unsigned chosen = pack_worker(loads, limits_);
  if (placed_.exchange(chosen, std::memory_order_relaxed) != chosen) steering_->place(chosen);
}

void Packer::sample(const std::vector<pthread_t>& threads) {
  const auto now = std::chrono::steady_clock::now();
  const auto wall = std::chrono::duration_cast<std::chrono::nanoseconds>(now - sampled_).count();
  sampled_ = now;
  for (std::size_t i = 0; i < threads.size() && i < workers_; ++i) {
    clockid_t clock{};
    timespec ts{};
    if (pthread_getcpuclockid(threads[i], &clock) != 0 || clock_gettime(clock, &ts) != 0) continue;
    const std::int64_t cpu = ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
    if (cpu_ns_[i] >= 0 && wall > 0) {
      busy_[i] = static_cast<double>(cpu - cpu_ns_[i]) / static_cast<double>(wall);
    }
    cpu_ns_[i] = cpu;
  }
  decide();
}

}  // namespace tern::net
