// UDP steering: an eBPF SO_REUSEPORT program keeps each client's datagrams on the worker that
// holds its allocation and sends new clients to the worker the runtime chooses (packing).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::net {

class UdpSteering {
 public:
  // The program, loaded for up to 256 workers; null with `why` when it cannot be (built
  // without libbpf, no CAP_BPF, a kernel that refuses).
  static std::unique_ptr<UdpSteering> load(std::string& why);
  ~UdpSteering();
  UdpSteering(const UdpSteering&) = delete;
  UdpSteering& operator=(const UdpSteering&) = delete;

  // Steers the SO_REUSEPORT group bound to `local`: `fds` holds its sockets, one per worker
  // in worker order. False with `why` when the kernel refuses (the group keeps its hash).
  bool attach(const protocol::TransportAddress& local, const std::vector<int>& fds,
              std::string& why);
  void detach(const protocol::TransportAddress& local);
  // Datagrams from `client` to the group of `local` go to `worker` / go where new ones go.
  // Any thread; a group that is not steered ignores them.
  void pin(const protocol::TransportAddress& local, const protocol::TransportAddress& client,
           unsigned worker);
  void unpin(const protocol::TransportAddress& local, const protocol::TransportAddress& client);
  // Unpins only while the pin names `worker`.
  void unpin_if(const protocol::TransportAddress& local, const protocol::TransportAddress& client,
                unsigned worker);
  // Datagrams from clients without a pin go to `worker`.
  void place(unsigned worker);
  // Pins that could not be stored (the table of 262,144 clients per group was full).
  std::uint64_t pins_refused() const noexcept;

 private:
  struct Impl;
  explicit UdpSteering(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
