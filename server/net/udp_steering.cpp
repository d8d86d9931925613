// UdpSteering: loads bpf/steer.bpf.c (built into the binary) with libbpf, one copy per
// SO_REUSEPORT group; the groups share the placement map.
#include "udp_steering.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "offload/libbpf_text.hpp"

#if TERN_HAVE_STEERING
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

extern const unsigned char kSteerBpfObject[];
extern const std::size_t kSteerBpfObjectSize;
#endif

namespace tern::net {

#if TERN_HAVE_STEERING
namespace {

// Mirrors struct flow_key in bpf/steer.bpf.c.
struct FlowKey {
  std::uint8_t addr[16];
  std::uint16_t port;  // network order
  std::uint16_t zero;
};
static_assert(sizeof(FlowKey) == 20);

FlowKey key_of(const protocol::TransportAddress& client) {
  FlowKey key{};
  if (client.family == protocol::Family::kIPv4) {
    key.addr[10] = 0xff;
    key.addr[11] = 0xff;
    std::memcpy(&key.addr[12], client.ip.data(), 4);
  } else {
    std::memcpy(key.addr, client.ip.data(), 16);
  }
  key.port = htons(client.port);
  return key;
}

struct Program {
  bpf_object* object = nullptr;
  int flows = -1;
  int sockets = -1;
  int program = -1;
  int placement = -1;

  Program() = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  Program(Program&& o) noexcept { *this = std::move(o); }
  Program& operator=(Program&& o) noexcept {
    std::swap(object, o.object);
    flows = o.flows;
    sockets = o.sockets;
    program = o.program;
    placement = o.placement;
    return *this;
  }
  ~Program() {
    if (object != nullptr) bpf_object__close(object);
  }

  // Opens and loads one copy; `shared_placement` < 0 makes its own placement map.
  bool load(int shared_placement, std::string& why) {
    offload::LibbpfLog log;
    object = bpf_object__open_mem(kSteerBpfObject, kSteerBpfObjectSize, nullptr);
    int err = object == nullptr ? -errno : 0;
    if (err == 0 && shared_placement >= 0) {
      err = bpf_map__reuse_fd(bpf_object__find_map_by_name(object, "placement"), shared_placement);
    }
    if (err == 0) err = bpf_object__load(object);
    if (err != 0) {
      why = "eBPF program not loaded: " + offload::errno_text(err) + log.tail(err);
      return false;
    }
    flows = bpf_map__fd(bpf_object__find_map_by_name(object, "flows"));
    sockets = bpf_map__fd(bpf_object__find_map_by_name(object, "sockets"));
    placement = bpf_map__fd(bpf_object__find_map_by_name(object, "placement"));
    program = bpf_program__fd(bpf_object__find_program_by_name(object, "steer"));
    return true;
  }
};

}  // namespace

struct UdpSteering::Impl {
  Program probe;  // owns the placement map every group shares
  std::shared_mutex mutex;
  std::vector<std::pair<protocol::TransportAddress, Program>> groups;  // one per UDP listener
  std::atomic<std::uint64_t> refused{0};

  auto find(const protocol::TransportAddress& local) {
    return std::find_if(groups.begin(), groups.end(),
                        [&](const auto& g) { return g.first == local; });
  }
  // Calls f(flows map fd, key of `client`) under the shared lock, if `local` is steered.
  template <class F>
  void with_flows(const protocol::TransportAddress& local, const protocol::TransportAddress& client,
                  F f) {
    const FlowKey key = key_of(client);
    std::shared_lock lock(mutex);
    if (auto it = find(local); it != groups.end()) f(it->second.flows, key);
  }
};

std::unique_ptr<UdpSteering> UdpSteering::load(std::string& why) {
  auto impl = std::make_unique<Impl>();
  if (!impl->probe.load(-1, why)) return nullptr;
  return std::unique_ptr<UdpSteering>(new UdpSteering(std::move(impl)));
}

bool UdpSteering::attach(const protocol::TransportAddress& local, const std::vector<int>& fds,
                         std::string& why) {
  if (fds.empty() || fds.size() > 256) {
    why = "between 1 and 256 workers can be steered";
    return false;
  }
  Program group;
  if (!group.load(impl_->probe.placement, why)) return false;
  for (std::uint32_t i = 0; i < fds.size(); ++i) {
    const std::uint64_t fd = static_cast<std::uint64_t>(fds[i]);
    if (bpf_map_update_elem(group.sockets, &i, &fd, BPF_ANY) != 0) {
      why = "worker socket not taken: " + offload::errno_text(errno);
      return false;
    }
  }
  if (setsockopt(fds.front(), SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &group.program,
                 sizeof group.program) != 0) {
    why = "SO_ATTACH_REUSEPORT_EBPF: " + offload::errno_text(errno);
    return false;
  }
  std::unique_lock lock(impl_->mutex);
  if (auto it = impl_->find(local); it != impl_->groups.end()) {
    it->second = std::move(group);
  } else {
    impl_->groups.emplace_back(local, std::move(group));
  }
  return true;
}

void UdpSteering::detach(const protocol::TransportAddress& local) {
  std::unique_lock lock(impl_->mutex);
  if (auto it = impl_->find(local); it != impl_->groups.end()) {
    impl_->groups.erase(it);  // the program goes with the group's last socket
  }
}

void UdpSteering::pin(const protocol::TransportAddress& local,
                      const protocol::TransportAddress& client, unsigned worker) {
  const std::uint32_t value = worker;
  impl_->with_flows(local, client, [&](int flows, const FlowKey& key) {
    if (bpf_map_update_elem(flows, &key, &value, BPF_ANY) != 0) ++impl_->refused;
  });
}

void UdpSteering::unpin(const protocol::TransportAddress& local,
                        const protocol::TransportAddress& client) {
  impl_->with_flows(local, client,
                    [](int flows, const FlowKey& key) { (void)bpf_map_delete_elem(flows, &key); });
}

void UdpSteering::unpin_if(const protocol::TransportAddress& local,
                           const protocol::TransportAddress& client, unsigned worker) {
  impl_->with_flows(local, client, [&](int flows, const FlowKey& key) {
    std::uint32_t value = 0;
    if (bpf_map_lookup_elem(flows, &key, &value) == 0 && value == worker) {
      (void)bpf_map_delete_elem(flows, &key);
    }
  });
}

void UdpSteering::place(unsigned worker) {
  const std::uint32_t zero = 0;
  const std::uint32_t value = worker;
  (void)bpf_map_update_elem(impl_->probe.placement, &zero, &value, BPF_ANY);
}

std::uint64_t UdpSteering::pins_refused() const noexcept {
  return impl_->refused.load(std::memory_order_relaxed);
}

#else  // built without libbpf

struct UdpSteering::Impl {};

std::unique_ptr<UdpSteering> UdpSteering::load(std::string& why) {
  why = "built without eBPF (clang and libbpf-dev were missing)";
  return nullptr;
}
bool UdpSteering::attach(const protocol::TransportAddress&, const std::vector<int>&,
                         std::string& why) {
  why = "built without eBPF";
  return false;
}
void UdpSteering::detach(const protocol::TransportAddress&) {}
void UdpSteering::pin(const protocol::TransportAddress&, const protocol::TransportAddress&,
                      unsigned) {}
void UdpSteering::unpin(const protocol::TransportAddress&, const protocol::TransportAddress&) {}
void UdpSteering::unpin_if(const protocol::TransportAddress&, const protocol::TransportAddress&,
                           unsigned) {}
void UdpSteering::place(unsigned) {}
std::uint64_t UdpSteering::pins_refused() const noexcept {
  return 0;
}

#endif

UdpSteering::UdpSteering(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UdpSteering::~UdpSteering() = default;

}  // namespace tern::net
