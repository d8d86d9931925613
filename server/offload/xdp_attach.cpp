// XdpAttachment: an XDP link in driver mode.
#include "xdp_attach.hpp"

#include <net/if.h>
#include <unistd.h>

#include <cerrno>

#include "libbpf_text.hpp"

#if TERN_HAVE_OFFLOAD
#include <bpf/bpf.h>
#include <linux/if_link.h>
#endif

namespace tern::offload {

#if TERN_HAVE_OFFLOAD
std::unique_ptr<XdpAttachment> XdpAttachment::attach(int program, const std::string& interface,
                                                     std::string& why) {
  const int ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  if (ifindex == 0) {
    why = "no interface " + interface;
    return nullptr;
  }
  // Driver mode only: generic XDP runs on the socket buffer after the kernel built it, where tc
  // does the same work with fewer copies.
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_DRV_MODE);
  const int link = bpf_link_create(program, ifindex, BPF_XDP, &opts);
  if (link < 0) {
    why = link == -EOPNOTSUPP ? "no native XDP" : errno_text(link);
    return nullptr;
  }
  std::unique_ptr<XdpAttachment> a(new XdpAttachment);
  a->link_ = link;
  return a;
}

XdpAttachment::~XdpAttachment() {
  if (link_ >= 0) ::close(link_);
}
#else
std::unique_ptr<XdpAttachment> XdpAttachment::attach(int, const std::string&, std::string& why) {
  why = "built without eBPF";
  return nullptr;
}
XdpAttachment::~XdpAttachment() = default;
#endif

}  // namespace tern::offload
