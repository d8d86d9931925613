// Runtime's kernel relay (relay.offload): started before the workers, so that their cores
// report channel routes; without it everything stays in user space, as it always could.
#include <stdexcept>

#include "runtime_impl.hpp"

namespace tern::net {

void Runtime::Impl::start_offload() {
  const auto& want = options.offload;
  if (want.mode == OffloadOptions::Mode::kOff) {
    offload = "off";
    return;
  }
  std::string why;
  kernel = offload::KernelRelay::start({want.interfaces, want.max_bindings, want.xdp}, why);
  if (!kernel) {
    if (want.mode == OffloadOptions::Mode::kRequired) {
      throw std::runtime_error("relay.offload is required, but the kernel relay did not start: " +
                               why);
    }
    offload = "off (" + why + ")";
    return;
  }
  options.core.channel_routes = true;
  offload = want.xdp ? "on" : "tc on";  // at XDP, each interface says how: "eth0 (xdp)"
  for (const auto& name : kernel->interfaces()) {
    offload += (name == kernel->interfaces().front() ? " " : ", ") + name;
  }
  for (const auto& skipped : kernel->skipped()) offload += "; not on " + skipped;
}

}  // namespace tern::net
