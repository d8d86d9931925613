// KernelRelay: loads bpf/relay.bpf.c (built into the binary) with libbpf, attaches it at tc
// ingress, and keeps its route maps equal to the bindings tern hands it.
#include "kernel_relay.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include "libbpf_text.hpp"

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

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Interfaces that are up, loopback aside, in the order the host lists them.
std::vector<std::string> interfaces_up() {
  std::vector<std::string> names;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return names;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    if (std::find(names.begin(), names.end(), i->ifa_name) == names.end()) {
      names.emplace_back(i->ifa_name);
    }
  }
  freeifaddrs(list);
  return names;
}

std::uint32_t ip4(const protocol::TransportAddress& a) {
  std::uint32_t v = 0;
  std::memcpy(&v, a.ip.data(), 4);
  return v;
}

bool is_wildcard(const protocol::TransportAddress& a) {
  return ip4(a) == 0;
}

std::uint64_t monotonic_ns(std::chrono::steady_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return ns.count() < 0 ? 0 : static_cast<std::uint64_t>(ns.count());
}

// BPF_TCX_INGRESS (Linux 6.6), named here for older headers: a link that goes with its fd, so
// a tern that dies leaves nothing attached.
constexpr auto kTcxIngress = static_cast<bpf_attach_type>(46);

// Attached with a tcx link (`link` >= 0), or else as a clsact filter (older kernels).
struct Attached {
  int ifindex = 0;
  int link = -1;
  bool created_qdisc = false;
  bpf_tc_opts opts{};
};

// The host's IPv4 addresses (a wildcard socket's datagrams arrive on any of them).
std::vector<std::uint32_t> host_ipv4() {
  std::vector<std::uint32_t> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (std::find(out.begin(), out.end(), in->sin_addr.s_addr) == out.end()) {
      out.push_back(in->sin_addr.s_addr);
    }
  }
  freeifaddrs(list);
  return out;
}

// One binding as the kernel holds it: a client key per address its listener answers on, a
// peer key per address its relay socket answers on.
struct Installed {
  KernelBinding binding;
  std::uint32_t slot = 0;
  std::vector<std::uint32_t> listener_ips;
  std::vector<std::uint32_t> relay_ips;
  KernelTraffic seen;  // the slot's counters when last read
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
  int counters = -1;
  int program = -1;
  std::uint8_t ttl = 64;
  int cpus = 1;
  std::vector<std::string> names;
  std::vector<std::string> skipped;
  std::vector<Attached> attached;

  mutable std::mutex mutex;
  std::unordered_map<std::uint64_t, Session> sessions;
  std::vector<std::uint32_t> free_slots;
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
    for (auto& a : attached) {
      if (a.link >= 0) {
        ::close(a.link);
        continue;
      }
      bpf_tc_hook hook{};
      hook.sz = sizeof hook;
      hook.ifindex = a.ifindex;
      hook.attach_point = BPF_TC_INGRESS;
      a.opts.prog_fd = 0;
      a.opts.prog_id = 0;
      a.opts.flags = 0;
      (void)bpf_tc_detach(&hook, &a.opts);
      if (a.created_qdisc) (void)bpf_tc_hook_destroy(&hook);
    }
    if (object != nullptr) bpf_object__close(object);
  }

  bool load(std::uint32_t max_bindings, std::string& why) {
    LibbpfLog log;
    object = bpf_object__open_mem(kRelayBpfObject, kRelayBpfObjectSize, nullptr);
    int err = object == nullptr ? -errno : 0;
    for (const char* name : {"clients", "peers", "counters"}) {
      if (err == 0) {
        err = bpf_map__set_max_entries(bpf_object__find_map_by_name(object, name), max_bindings);
      }
    }
    if (err == 0) err = bpf_object__load(object);
    if (err != 0) {
      why = "eBPF program not loaded: " + errno_text(err) + log.tail(err);
      return false;
    }
    clients = bpf_map__fd(bpf_object__find_map_by_name(object, "clients"));
    peers = bpf_map__fd(bpf_object__find_map_by_name(object, "peers"));
    counters = bpf_map__fd(bpf_object__find_map_by_name(object, "counters"));
    program = bpf_program__fd(bpf_object__find_program_by_name(object, "tern_relay"));
    cpus = std::max(1, libbpf_num_possible_cpus());
    free_slots.reserve(max_bindings);
    for (std::uint32_t s = max_bindings; s > 0; --s) free_slots.push_back(s - 1);
    const int default_ttl = std::atoi(read_line("/proc/sys/net/ipv4/ip_default_ttl").c_str());
    if (default_ttl > 0 && default_ttl < 256) ttl = static_cast<std::uint8_t>(default_ttl);
    return true;
  }

  bool attach(const std::string& name, std::string& why) {
    const int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (ifindex == 0) {
      why = "no interface " + name;
      return false;
    }
    if (read_line("/proc/sys/net/ipv4/conf/" + name + "/forwarding") != "1") {
      skipped.push_back(name + " (net.ipv4.conf." + name + ".forwarding is 0)");
      return true;
    }
    Attached a;
    a.ifindex = ifindex;
    a.link = bpf_link_create(program, ifindex, kTcxIngress, nullptr);
    if (a.link >= 0) {
      attached.push_back(a);
      names.push_back(name);
      return true;
    }
    bpf_tc_hook hook{};
    hook.sz = sizeof hook;
    hook.ifindex = ifindex;
    hook.attach_point = BPF_TC_INGRESS;
    int err = bpf_tc_hook_create(&hook);
    if (err != 0 && err != -EEXIST) {
      why = "tc hook on " + name + ": " + errno_text(err);
      return false;
    }
    a.created_qdisc = err == 0;
    a.opts.sz = sizeof a.opts;
    a.opts.prog_fd = program;
    err = bpf_tc_attach(&hook, &a.opts);
    if (err != 0) {
      if (a.created_qdisc) (void)bpf_tc_hook_destroy(&hook);
      why = "tc attach on " + name + ": " + errno_text(err);
      return false;
    }
    attached.push_back(a);
    names.push_back(name);
    return true;
  }

  KernelTraffic read(std::uint32_t slot) const {
    std::vector<tr_counters> values(static_cast<std::size_t>(cpus));
    KernelTraffic t;
    if (bpf_map_lookup_elem(counters, &slot, values.data()) != 0) return t;
    for (const auto& v : values) {
      t.to_peer_packets += v.to_peer_packets;
      t.to_peer_bytes += v.to_peer_bytes;
      t.to_client_packets += v.to_client_packets;
      t.to_client_bytes += v.to_client_bytes;
    }
    return t;
  }

  static KernelTraffic since(const KernelTraffic& now, const KernelTraffic& before) {
    return {now.to_peer_packets - before.to_peer_packets, now.to_peer_bytes - before.to_peer_bytes,
            now.to_client_packets - before.to_client_packets,
            now.to_client_bytes - before.to_client_bytes};
  }

  std::uint8_t flags_for(const protocol::TransportAddress& source) const {
    return static_cast<std::uint8_t>(TR_DONT_FRAGMENT |
                                     (is_wildcard(source) ? TR_SOURCE_FROM_ROUTE : 0));
  }

  static tr_client_key client_key(const KernelBinding& b, std::uint32_t local) {
    return {ip4(b.client), local, htons(b.client.port), htons(b.listener.port), b.channel, 0};
  }
  static tr_peer_key peer_key(const KernelBinding& b, std::uint32_t local) {
    return {ip4(b.peer), local, htons(b.peer.port), htons(b.relay.port)};
  }
  // What goes from `from` to `to` on `i`'s binding.
  tr_route route(const Installed& i, const protocol::TransportAddress& from,
                 const protocol::TransportAddress& to) const {
    return {ip4(from),
            ip4(to),
            htons(from.port),
            htons(to.port),
            i.binding.channel,
            flags_for(from),
            ttl,
            i.slot,
            0,
            monotonic_ns(i.binding.expires)};
  }

  // Writes the map entries of `i` (new, or with a new expiry); false when one is refused.
  bool write(const Installed& i) {
    const KernelBinding& b = i.binding;
    const tr_route to_peer = route(i, b.relay, b.peer);
    const tr_route to_client = route(i, b.listener, b.client);
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
    ended[worker] += since(read(i.slot), i.seen);
    free_slots.push_back(i.slot);
    --installed;
  }

  bool add(const KernelBinding& b, Installed& out) {
    if (free_slots.empty()) return false;
    Installed i{b, free_slots.back(), addresses(b.listener), addresses(b.relay), {}};
    std::vector<tr_counters> zero(static_cast<std::size_t>(cpus));
    if (bpf_map_update_elem(counters, &i.slot, zero.data(), BPF_ANY) != 0) return false;
    if (!write(i)) {
      erase(i);
      return false;
    }
    free_slots.pop_back();
    out = std::move(i);
    ++installed;
    return true;
  }
};

std::unique_ptr<KernelRelay> KernelRelay::start(const KernelRelayOptions& options,
                                                std::string& why) {
  auto impl = std::make_unique<Impl>();
  if (!impl->load(std::max<std::uint32_t>(options.max_bindings, 1), why)) return nullptr;
  const auto names = options.interfaces.empty() ? interfaces_up() : options.interfaces;
  for (const auto& name : names) {
    if (!impl->attach(name, why)) return nullptr;
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
    if (impl_->add(b, added)) {
      kept.push_back(std::move(added));
    } else {
      ++impl_->refused;
    }
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
  KernelTraffic total;
  if (auto it = impl_->ended.find(worker); it != impl_->ended.end()) {
    total = it->second;
    impl_->ended.erase(it);
  }
  for (auto& [id, s] : impl_->sessions) {
    if (s.worker != worker) continue;
    for (Installed& i : s.bindings) {
      const KernelTraffic now = impl_->read(i.slot);
      total += Impl::since(now, i.seen);
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
