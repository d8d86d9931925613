// KernelRelay: loads bpf/relay.bpf.c (built into the binary) with libbpf, attaches it at tc
// ingress or XDP, and keeps its route maps equal to the bindings tern hands it.
#include "kernel_relay.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "host_addresses.hpp"
#include "libbpf_text.hpp"
#include "slot_counters.hpp"
#include "tc_attach.hpp"
#include "xdp_attach.hpp"

#if TERN_HAVE_OFFLOAD
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/rewrite.h"

extern const unsigned char kRelayBpfObject[];
extern const std::size_t kRelayBpfObjectSize;
#endif

namespace tern::offload {

KernelTraffic& KernelTraffic::operator+=(const KernelTraffic& o) noexcept {
  to_peer_packets += o.to_peer_packets;
  to_peer_bytes += o.to_peer_bytes;
  to_client_packets += o.to_client_packets;
  to_client_bytes += o.to_client_bytes;
  return *this;
}

#if TERN_HAVE_OFFLOAD
namespace {

constexpr std::uint32_t kKeysPerBinding = 4;

std::uint64_t monotonic_ns(std::chrono::steady_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return ns.count() < 0 ? 0 : static_cast<std::uint64_t>(ns.count());
}

// One binding as the kernel holds it: a client key per address its listener answers on, a
// peer key per address its relay socket answers on, and the addresses it sends from.
struct Installed {
  KernelBinding binding;
  std::uint32_t slot = 0;
  std::vector<std::uint32_t> listener_ips;
  std::vector<std::uint32_t> relay_ips;
  std::uint32_t to_peer_source = 0;
  std::uint32_t to_client_source = 0;
  KernelTraffic seen;  // the slot's counters when last read
};

// A slot whose binding was removed: counted once more at the next take() (a CPU that found the
// route just before it went may still add to it), then free.
struct Cooling {
  std::uint32_t slot = 0;
  unsigned worker = 0;
  KernelTraffic seen;
};

struct Session {
  unsigned worker = 0;
  std::vector<Installed> bindings;
};

}  // namespace

struct KernelRelay::Impl {
  bpf_object* object = nullptr;
  int clients = -1;
  int peers = -1;
  SlotCounters counters;
  int program = -1;
  int xdp_program = -1;
  std::uint8_t ttl = 64;
  std::vector<std::string> names;
  std::vector<std::string> skipped;
  std::vector<std::unique_ptr<TcAttachment>> attached;
  std::vector<std::unique_ptr<XdpAttachment>> attached_xdp;

  mutable std::mutex mutex;
  std::unordered_map<std::uint64_t, Session> sessions;
  std::vector<std::uint32_t> free_slots;
  std::uint32_t slots_used = 0;  // one past the highest slot ever handed out
  std::vector<Cooling> cooling;
  std::unordered_map<unsigned, KernelTraffic> ended;  // of bindings removed, by worker
  std::uint64_t refused = 0;
  std::size_t installed = 0;
  std::vector<std::uint32_t> local_ips;  // host_ipv4(), read again at most once a second
  std::chrono::steady_clock::time_point local_read{};

  std::vector<std::uint32_t> addresses(const protocol::TransportAddress& a) {
    if (!is_wildcard(a)) return {ip4(a)};
    const auto now = std::chrono::steady_clock::now();
    if (local_ips.empty() || now - local_read > std::chrono::seconds(1)) {
      local_ips = host_ipv4();
      local_read = now;
    }
    return local_ips;
  }

  ~Impl() {
    attached.clear();  // detached before the program goes
    attached_xdp.clear();
    if (object != nullptr) bpf_object__close(object);
  }

  bool load(std::uint32_t max_bindings, std::string& why) {
    LibbpfLog log;
    object = bpf_object__open_mem(kRelayBpfObject, kRelayBpfObjectSize, nullptr);
    int err = object == nullptr ? -errno : 0;
    // A binding on a wildcard socket has a key per host address: room for a few each.
    const std::uint32_t keys = max_bindings * kKeysPerBinding;
    for (const auto& [name, size] : {std::pair{"clients", keys}, std::pair{"peers", keys},
                                     std::pair{"counters", max_bindings}}) {
      if (err == 0)
        err = bpf_map__set_max_entries(bpf_object__find_map_by_name(object, name), size);
    }
    if (err == 0) err = bpf_object__load(object);
    if (err != 0) {
      why = "eBPF program not loaded: " + errno_text(err) + log.tail(err);
      return false;
    }
    clients = bpf_map__fd(bpf_object__find_map_by_name(object, "clients"));
    peers = bpf_map__fd(bpf_object__find_map_by_name(object, "peers"));
    const int counter_map = bpf_map__fd(bpf_object__find_map_by_name(object, "counters"));
    program = bpf_program__fd(bpf_object__find_program_by_name(object, "tern_relay"));
    xdp_program = bpf_program__fd(bpf_object__find_program_by_name(object, "tern_relay_xdp"));
    counters = SlotCounters(counter_map, std::max(1, libbpf_num_possible_cpus()));
    free_slots.reserve(max_bindings);
    for (std::uint32_t s = max_bindings; s > 0; --s) free_slots.push_back(s - 1);
    const int default_ttl = std::atoi(read_line("/proc/sys/net/ipv4/ip_default_ttl").c_str());
    if (default_ttl > 0 && default_ttl < 256) ttl = static_cast<std::uint8_t>(default_ttl);
    return true;
  }

  // At XDP when `xdp` and the driver lets it, else at tc; false (with why) when neither works.
  bool attach(const std::string& name, bool xdp, std::string& why) {
    if (auto reason = unsuitable(name); !reason.empty()) {
      skipped.push_back(reason);
      return true;
    }
    std::string no_xdp;
    if (xdp) {
      if (auto x = XdpAttachment::attach(xdp_program, name, no_xdp)) {
        names.push_back(name + " (xdp)");
        attached_xdp.push_back(std::move(x));
        return true;
      }
    }
    auto a = TcAttachment::attach(program, name, why);
    if (!a) return false;
    std::string how = a->clsact() ? "clsact" : "";
    if (xdp) how = (a->clsact() ? "clsact" : "tc") + std::string(": ") + no_xdp;
    names.push_back(how.empty() ? name : name + " (" + how + ")");
    attached.push_back(std::move(a));
    return true;
  }

  static tr_client_key client_key(const KernelBinding& b, std::uint32_t local) {
    return {ip4(b.client), local, htons(b.client.port), htons(b.listener.port), b.channel, 0};
  }
  static tr_peer_key peer_key(const KernelBinding& b, std::uint32_t local) {
    return {ip4(b.peer), local, htons(b.peer.port), htons(b.relay.port)};
  }
  // What goes from `source`:`from.port` to `to` on `i`'s binding.
  tr_route route(const Installed& i, std::uint32_t source, std::uint16_t port,
                 const protocol::TransportAddress& to) const {
    return {source,
            ip4(to),
            htons(port),
            htons(to.port),
            i.binding.channel,
            TR_DONT_FRAGMENT,
            ttl,
            i.slot,
            0,
            monotonic_ns(i.binding.expires)};
  }

  // Writes the map entries of `i` (new, or with a new expiry); false when one is refused.
  bool write(const Installed& i) {
    const KernelBinding& b = i.binding;
    const tr_route to_peer = route(i, i.to_peer_source, b.relay.port, b.peer);
    const tr_route to_client = route(i, i.to_client_source, b.listener.port, b.client);
    for (const std::uint32_t local : i.listener_ips) {
      const tr_client_key key = client_key(b, local);
      if (bpf_map_update_elem(clients, &key, &to_peer, BPF_ANY) != 0) return false;
    }
    for (const std::uint32_t local : i.relay_ips) {
      const tr_peer_key key = peer_key(b, local);
      if (bpf_map_update_elem(peers, &key, &to_client, BPF_ANY) != 0) return false;
    }
    return true;
  }

  void erase(const Installed& i) {
    for (const std::uint32_t local : i.listener_ips) {
      const tr_client_key key = client_key(i.binding, local);
      (void)bpf_map_delete_elem(clients, &key);
    }
    for (const std::uint32_t local : i.relay_ips) {
      const tr_peer_key key = peer_key(i.binding, local);
      (void)bpf_map_delete_elem(peers, &key);
    }
  }

  // Takes `i` out of the kernel; its last counts go to its worker's.
  void remove(unsigned worker, Installed& i) {
    erase(i);
    const KernelTraffic now = counters.read(i.slot);
    ended[worker] += SlotCounters::since(now, i.seen);
    cooling.push_back({i.slot, worker, now});
    --installed;
  }

  // The last counts of `worker`'s removed bindings; their slots are free again.
  void cool(unsigned worker) {
    std::erase_if(cooling, [&](const Cooling& c) {
      if (c.worker != worker) return false;
      ended[worker] += SlotCounters::since(counters.read(c.slot), c.seen);
      free_slots.push_back(c.slot);
      return true;
    });
  }

  // kNotHere: the binding's addresses are all loopback ones, which the program never sees.
  enum class Added { kYes, kRefused, kNotHere };
  Added add(const KernelBinding& b, Installed& out) {
    if (free_slots.empty()) return Added::kRefused;
    Installed i{b,
                free_slots.back(),
                addresses(b.listener),
                addresses(b.relay),
                source_for(b.relay, b.peer),
                source_for(b.listener, b.client),
                {}};
    if (i.listener_ips.empty() && i.relay_ips.empty()) return Added::kNotHere;
    if (i.to_peer_source == 0 || i.to_client_source == 0) return Added::kRefused;  // no route
    if (!counters.reset(i.slot)) return Added::kRefused;
    if (!write(i)) {
      erase(i);
      return Added::kRefused;
    }
    free_slots.pop_back();
    slots_used = std::max(slots_used, i.slot + 1);
    out = std::move(i);
    ++installed;
    return Added::kYes;
  }
};

std::unique_ptr<KernelRelay> KernelRelay::start(const KernelRelayOptions& options,
                                                std::string& why) {
  auto impl = std::make_unique<Impl>();
  if (!impl->load(std::max<std::uint32_t>(options.max_bindings, 1), why)) return nullptr;
  const auto names = options.interfaces.empty() ? ethernet_interfaces_up() : options.interfaces;
  for (const auto& name : names) {
    if (!impl->attach(name, options.xdp, why)) return nullptr;
  }
  if (impl->names.empty()) {
    why = "no interface to attach to";
    for (const auto& s : impl->skipped) why += (s == impl->skipped.front() ? ": " : ", ") + s;
    return nullptr;
  }
  return std::unique_ptr<KernelRelay>(new KernelRelay(std::move(impl)));
}

void KernelRelay::set(std::uint64_t session, unsigned worker,
                      const std::vector<KernelBinding>& bindings) {
  std::lock_guard lock(impl_->mutex);
  Session& s = impl_->sessions[session];
  s.worker = worker;
  std::vector<Installed> kept;
  kept.reserve(bindings.size());
  for (const KernelBinding& b : bindings) {
    auto it = std::find_if(s.bindings.begin(), s.bindings.end(),
                           [&](const Installed& i) { return i.binding.same_route(b); });
    if (it != s.bindings.end()) {
      if (it->binding.expires != b.expires) {
        const auto before = it->binding.expires;
        it->binding.expires = b.expires;
        if (!impl_->write(*it)) it->binding.expires = before;
      }
      kept.push_back(std::move(*it));
      s.bindings.erase(it);
      continue;
    }
    Installed added;
    const Impl::Added outcome = impl_->add(b, added);
    if (outcome == Impl::Added::kYes) kept.push_back(std::move(added));
    if (outcome == Impl::Added::kRefused) ++impl_->refused;
  }
  for (Installed& gone : s.bindings) impl_->remove(worker, gone);
  s.bindings = std::move(kept);
  if (s.bindings.empty()) impl_->sessions.erase(session);
}

void KernelRelay::clear(std::uint64_t session) {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->sessions.find(session);
  if (it == impl_->sessions.end()) return;
  for (Installed& gone : it->second.bindings) impl_->remove(it->second.worker, gone);
  impl_->sessions.erase(it);
}

KernelTraffic KernelRelay::take(unsigned worker) {
  std::lock_guard lock(impl_->mutex);
  impl_->cool(worker);
  KernelTraffic total;
  if (auto it = impl_->ended.find(worker); it != impl_->ended.end()) {
    total = it->second;
    impl_->ended.erase(it);
  }
  bool any = false;
  for (const auto& [id, s] : impl_->sessions) any = any || s.worker == worker;
  if (!any) return total;
  const std::vector<KernelTraffic> counts = impl_->counters.read_all(impl_->slots_used);
  for (auto& [id, s] : impl_->sessions) {
    if (s.worker != worker) continue;
    for (Installed& i : s.bindings) {
      const KernelTraffic& now = counts[i.slot];
      total += SlotCounters::since(now, i.seen);
      i.seen = now;
    }
  }
  return total;
}

std::size_t KernelRelay::bindings() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->installed;
}

std::uint64_t KernelRelay::refused() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->refused;
}

#else  // built without libbpf

struct KernelRelay::Impl {
  std::vector<std::string> names;
  std::vector<std::string> skipped;
};

std::unique_ptr<KernelRelay> KernelRelay::start(const KernelRelayOptions&, std::string& why) {
  why = "built without eBPF (clang and libbpf-dev were missing)";
  return nullptr;
}
void KernelRelay::set(std::uint64_t, unsigned, const std::vector<KernelBinding>&) {}
void KernelRelay::clear(std::uint64_t) {}
KernelTraffic KernelRelay::take(unsigned) {
  return {};
}
std::size_t KernelRelay::bindings() const {
  return 0;
}
std::uint64_t KernelRelay::refused() const {
  return 0;
}

#endif

const std::vector<std::string>& KernelRelay::interfaces() const noexcept {
  return impl_->names;
}
const std::vector<std::string>& KernelRelay::skipped() const noexcept {
  return impl_->skipped;
}

KernelRelay::KernelRelay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KernelRelay::~KernelRelay() = default;

}  // namespace tern::offload
