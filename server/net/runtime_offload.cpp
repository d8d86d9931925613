// Runtime's kernel relay (relay.offload): started before the workers, so that their cores
// report channel routes; without it everything stays in user space, as it always could. Shared
// relay sockets (relay.multiplex_port) keep it off.
#include <stdexcept>
#include <string>

#include "runtime_impl.hpp"

namespace tern::net {

void Runtime::Impl::share_relay_ports(unsigned count) {
  const unsigned port = options.relay.multiplex_port;
  if (port + 2 * (count - 1) > 65535) {
    throw std::runtime_error("relay.multiplex_port " + std::to_string(port) + " with " +
                             std::to_string(count) + " workers passes port 65535");
  }
  for (unsigned i = 0; i < count; ++i)
    ports->add_shared_port(static_cast<std::uint16_t>(port + 2 * i));
  if (options.offload.mode == OffloadOptions::Mode::kRequired) {
    throw std::runtime_error("relay.offload: required cannot go with relay.multiplex_port");
  }
}

void Runtime::Impl::start_offload() {
  const auto& want = options.offload;
  if (options.relay.multiplex_port != 0) {
    offload = "off (relay.multiplex_port)";
    return;
  }
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
