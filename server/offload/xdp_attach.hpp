// The kernel relay's program at XDP on one interface (relay.offload_hook: xdp): a link in the
// driver's own mode, gone with tern's process however it ends. Drivers without native XDP
// refuse it, and the caller falls back to tc there.
#pragma once

#include <memory>
#include <string>

namespace tern::offload {

class XdpAttachment {
 public:
  // Null with `why` when the kernel or the driver refuses.
  static std::unique_ptr<XdpAttachment> attach(int program, const std::string& interface,
                                               std::string& why);
  ~XdpAttachment();  // detaches
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;

 private:
  XdpAttachment() = default;
  int link_ = -1;
};

}  // namespace tern::offload
