// TcAttachment: tcx link or clsact filter; which interfaces qualify.
#include "tc_attach.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "host_addresses.hpp"
#include "libbpf_text.hpp"

#if TERN_HAVE_OFFLOAD
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#endif

namespace tern::offload {

namespace {

bool is_ethernet(const std::string& interface) {
  return read_line("/sys/class/net/" + interface + "/type") == "1";  // ARPHRD_ETHER
}

#if TERN_HAVE_OFFLOAD
// BPF_TCX_INGRESS (Linux 6.6), named here for older headers.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);
// tern's clsact filter: one per interface, found again by these.
constexpr std::uint32_t kHandle = 0x7e52;
constexpr std::uint32_t kPriority = 0x7e52;

bpf_tc_hook ingress(int ifindex) {
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_INGRESS;
  return hook;
}
#endif

}  // namespace

std::vector<std::string> ethernet_interfaces_up() {
  std::vector<std::string> names;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return names;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    if (std::find(names.begin(), names.end(), i->ifa_name) == names.end() &&
        is_ethernet(i->ifa_name)) {
      names.emplace_back(i->ifa_name);
    }
  }
  freeifaddrs(list);
  return names;
}

std::string unsuitable(const std::string& interface) {
  if (!is_ethernet(interface)) return interface + " (not an Ethernet interface)";
  if (read_line("/proc/sys/net/ipv4/conf/" + interface + "/forwarding") != "1") {
    return interface + " (net.ipv4.conf." + interface + ".forwarding is 0)";
  }
  return {};
}

#if TERN_HAVE_OFFLOAD
std::unique_ptr<TcAttachment> TcAttachment::attach(int program, const std::string& interface,
                                                   std::string& why) {
  const int ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  if (ifindex == 0) {
    why = "no interface " + interface;
    return nullptr;
  }
  std::unique_ptr<TcAttachment> a(new TcAttachment);
  a->ifindex_ = ifindex;
  const char* forced = std::getenv("TERN_OFFLOAD_ATTACH");
  if (forced == nullptr || std::string_view(forced) != "clsact") {
    a->link_ = bpf_link_create(program, ifindex, kTcxIngress, nullptr);
    if (a->link_ >= 0) return a;
  }
  bpf_tc_hook hook = ingress(ifindex);
  int err = bpf_tc_hook_create(&hook);
  if (err != 0 && err != -EEXIST) {
    why = "tc hook on " + interface + ": " + errno_text(err);
    return nullptr;
  }
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.prog_fd = program;
  opts.handle = kHandle;
  opts.priority = kPriority;
  opts.flags = BPF_TC_F_REPLACE;  // a filter a killed tern left behind
  err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    why = "tc attach on " + interface + ": " + errno_text(err);
    return nullptr;
  }
  return a;
}

TcAttachment::~TcAttachment() {
  if (link_ >= 0) {
    ::close(link_);
    return;
  }
  bpf_tc_hook hook = ingress(ifindex_);
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.handle = kHandle;
  opts.priority = kPriority;
  (void)bpf_tc_detach(&hook, &opts);
}
#else
std::unique_ptr<TcAttachment> TcAttachment::attach(int, const std::string&, std::string& why) {
  why = "built without eBPF";
  return nullptr;
}
TcAttachment::~TcAttachment() = default;
#endif

}  // namespace tern::offload
