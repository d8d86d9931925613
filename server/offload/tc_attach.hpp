// The kernel relay's program at tc ingress of one interface: a tcx link (Linux 6.6 and later,
// gone with tern's process however it ends) or else a clsact filter with tern's own handle and
// priority, which the next tern to start replaces (so a killed one leaves nothing running).
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace tern::offload {

class TcAttachment {
 public:
  // Null with `why` when the kernel refuses. TERN_OFFLOAD_ATTACH=clsact in the environment
  // skips the tcx link (for kernels whose tcx another tool manages, and for testing the
  // fallback on kernels that have tcx).
  static std::unique_ptr<TcAttachment> attach(int program, const std::string& interface,
                                              std::string& why);
  bool clsact() const noexcept { return link_ < 0; }
  ~TcAttachment();  // detaches (a clsact qdisc stays: other filters may use it)
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;

 private:
  TcAttachment() = default;
  int ifindex_ = 0;
  int link_ = -1;  // the tcx link, or -1 for a clsact filter
};

// Ethernet interfaces that are up (loopback, tunnels and WireGuard have no Ethernet header).
std::vector<std::string> ethernet_interfaces_up();
// Why `interface` cannot carry the kernel relay (not Ethernet, IPv4 forwarding off), or "".
std::string unsuitable(const std::string& interface);

}  // namespace tern::offload
