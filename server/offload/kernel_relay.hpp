// relay.offload: the kernel relay (bpf/relay.bpf.c) at tc ingress or XDP of the host's interfaces,
// and the channel bindings tern hands it. Linux with libbpf; elsewhere start() says why not.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::offload {

struct KernelRelayOptions {
  std::vector<std::string> interfaces;  // empty = every interface that is up, but loopback
  std::uint32_t max_bindings = 65536;   // channel bindings in the kernel at once
  bool xdp = false;  // at XDP where the driver has it natively, else (and by default) at tc
};

// One channel binding, both ways; IPv4 only. A wildcard `listener` or `relay` address (0.0.0.0
// with its port) matches any local address, and what is sent from it takes the route's source.
struct KernelBinding {
  protocol::TransportAddress client;    // the client's address and port, as the wire shows it
  protocol::TransportAddress listener;  // the UDP listener it sends to
  protocol::TransportAddress relay;     // the relay socket's local address and port
  protocol::TransportAddress peer;
  std::uint16_t channel = 0;
  std::chrono::steady_clock::time_point expires{};
  bool same_route(const KernelBinding& o) const noexcept {
    return client == o.client && listener == o.listener && relay == o.relay && peer == o.peer &&
           channel == o.channel;
  }
};

// Payload packets and bytes the kernel relayed, as user space would have counted them.
struct KernelTraffic {
  std::uint64_t to_peer_packets = 0;
  std::uint64_t to_peer_bytes = 0;
  std::uint64_t to_client_packets = 0;
  std::uint64_t to_client_bytes = 0;
  KernelTraffic& operator+=(const KernelTraffic& o) noexcept;
};

class KernelRelay {
 public:
  // Loads the program and attaches it; null with `why` when it cannot (no CAP_BPF and
  // CAP_NET_ADMIN, a kernel that refuses, no interface with IPv4 forwarding on).
  static std::unique_ptr<KernelRelay> start(const KernelRelayOptions& options, std::string& why);
  ~KernelRelay();  // detaches from every interface
  KernelRelay(const KernelRelay&) = delete;
  KernelRelay& operator=(const KernelRelay&) = delete;

  // Allocation `session` (of worker `worker`) has exactly these bindings now; any thread.
  // Those that do not fit (max_bindings) stay with user space.
  void set(std::uint64_t session, unsigned worker, const std::vector<KernelBinding>& bindings);
  void clear(std::uint64_t session);
  // What the kernel relayed for `worker`'s bindings since the last call.
  KernelTraffic take(unsigned worker);

  const std::vector<std::string>& interfaces() const noexcept;
  // Interfaces left out, with why (IPv4 forwarding off).
  const std::vector<std::string>& skipped() const noexcept;
  std::size_t bindings() const;
  std::uint64_t refused() const;  // bindings that did not fit

 private:
  struct Impl;
  explicit KernelRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::offload
