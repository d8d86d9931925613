// Runtime's UDP steering: packing new clients onto few workers (Packer, UdpSteering), set up
// at start; falls back to the kernel's 5-tuple hash wherever the eBPF program cannot load.
#include "runtime_impl.hpp"

namespace tern::net {

void Runtime::Impl::start_steering() {
  const auto& want = options.steering;
  if (!want.pack) {
    steering = "hash";
    return;
  }
  if (workers.size() < 2) {
    steering = "pack (one worker)";
    return;
  }
  std::string why;
  auto loaded = UdpSteering::load(why);
  if (!loaded) {
    steering = "hash (" + why + ")";
    return;
  }
  auto count = [this](unsigned i) {
    std::int64_t n = 0;
    for (const auto& g : workers[i]->core.stats().allocations_active[static_cast<std::size_t>(
             core::Transport::kUdp)]) {
      n += g.get();
    }
    return static_cast<std::size_t>(std::max<std::int64_t>(0, n));
  };
  packer = std::make_unique<Packer>(std::move(loaded), workers.size(),
                                    PackLimits{want.pack_allocations, want.pack_busy}, count);
  for (auto& w : workers) w->events.set_packer(packer.get());
  steering = "pack (eBPF)";
}

void Runtime::Impl::steer(const protocol::TransportAddress& local, const std::vector<int>& fds) {
  if (!packer) return;
  std::string why;
  if (!packer->steering().attach(local, fds, why)) {
    steering = "pack (eBPF), but hash on " + local.to_string() + " (" + why + ")";
  }
}

void Runtime::Impl::sample_load() {
  std::vector<pthread_t> threads;
  for (auto& w : workers) threads.push_back(w->thread.native_handle());
  packer->sample(threads);
}

}  // namespace tern::net
