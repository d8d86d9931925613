// RelayPorts: random port choice over the configured range per relay IP, reservations, liveness.
#include "relay_ports.hpp"

#include <unistd.h>

#include <algorithm>

namespace tern::net {

namespace {
constexpr auto kReservationHold = std::chrono::seconds(30);
constexpr int kRandomTries = 64;

bool same_ip(const protocol::TransportAddress& a, const protocol::TransportAddress& b) {
  return a.family == b.family && a.ip == b.ip;
}

bool is_wildcard(const protocol::TransportAddress& a) {
  for (std::size_t i = 0; i < a.ip_size(); ++i) {
    if (a.ip[i] != 0) return false;
  }
  return true;
}
}  // namespace

void RelayPorts::Slot::set(std::uint16_t p) noexcept {
  if (test(p)) return;
  used[p >> 6] |= std::uint64_t{1} << (p & 63);
  ++count;
}

void RelayPorts::Slot::clear(std::uint16_t p) noexcept {
  if (!test(p)) return;
  used[p >> 6] &= ~(std::uint64_t{1} << (p & 63));
  --count;
}

RelayPorts::RelayPorts(RelayAddresses addresses, std::uint16_t min_port, std::uint16_t max_port)
    : addresses_(std::move(addresses)),
      min_(min_port),
      max_(max_port),
      rng_(std::random_device{}()) {
  auto add = [&](const protocol::TransportAddress& bind, const protocol::TransportAddress& adv) {
    Slot s;
    s.bind = bind;
    s.advertised = adv;
    s.bind.port = 0;
    s.advertised.port = 0;
    slots_.push_back(std::move(s));
  };
  add(addresses_.bind_v4, addresses_.advertised_v4);
  if (addresses_.bind_v6) add(*addresses_.bind_v6, *addresses_.advertised_v6);
  for (const auto& extra : addresses_.extra) add(extra, extra);
}

RelayPorts::~RelayPorts() {
  for (const auto& [token, r] : reservations_) {
    if (r.fd >= 0) ::close(r.fd);
  }
}

void RelayPorts::expire_reservations() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires <= now) {
      if (it->second.fd >= 0) ::close(it->second.fd);
      slots_[it->second.slot].clear(it->second.port);
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::uint16_t> RelayPorts::free_port(const Slot& slot, bool even, bool reserve_next) {
  const bool pair = even || reserve_next;
  auto free_at = [&](std::uint32_t p) {
    if (p < min_ || p > max_ || slot.test(static_cast<std::uint16_t>(p))) return false;
    if (pair && p % 2 != 0) return false;
    return !reserve_next || (p + 1 <= max_ && !slot.test(static_cast<std::uint16_t>(p + 1)));
  };
  std::uniform_int_distribution<std::uint32_t> dist(min_, max_);
  for (int i = 0; i < kRandomTries; ++i) {
    std::uint32_t p = dist(rng_);
    if (pair) p &= ~1u;
    if (free_at(p)) return static_cast<std::uint16_t>(p);
  }
  // Nearly full: scan from a random start so the last free ports are still found.
  const std::uint32_t start = dist(rng_);
  const std::uint32_t range = std::uint32_t{max_} - min_ + 1;
  for (std::uint32_t i = 0; i < range; ++i) {
    const std::uint32_t p = min_ + (start - min_ + i) % range;
    if (free_at(p)) return static_cast<std::uint16_t>(p);
  }
  return std::nullopt;
}

std::optional<RelayPorts::Pick> RelayPorts::pick(protocol::Family family, bool even,
                                                 bool reserve_next) {
  std::lock_guard lock(mutex_);
  expire_reservations();
  // The IPs of the family, emptiest first: allocations spread over them.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].bind.family == family) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return slots_[a].count < slots_[b].count; });
  for (const std::size_t index : order) {
    Slot& slot = slots_[index];
    const auto port = free_port(slot, even, reserve_next);
    if (!port) continue;
    Pick result{slot.bind, 0};
    result.local.port = *port;
    slot.set(*port);
    if (reserve_next) {
      const auto next = static_cast<std::uint16_t>(*port + 1);
      slot.set(next);
      do {
        result.token = rng_();
      } while (result.token == 0 || reservations_.contains(result.token));
      reservations_[result.token] = {index, next,
                                     std::chrono::steady_clock::now() + kReservationHold};
    }
    return result;
  }
  return std::nullopt;
}

void RelayPorts::hold(std::uint64_t token, int fd) {
  std::lock_guard lock(mutex_);
  auto it = reservations_.find(token);
  if (it == reservations_.end() || it->second.fd >= 0) {
    ::close(fd);
    return;
  }
  it->second.fd = fd;
}

std::optional<RelayPorts::Reserved> RelayPorts::take_reserved(std::uint64_t token) {
  std::lock_guard lock(mutex_);
  expire_reservations();
  auto it = reservations_.find(token);
  if (it == reservations_.end()) return std::nullopt;
  Reserved out{slots_[it->second.slot].bind, it->second.fd};
  out.local.port = it->second.port;
  reservations_.erase(it);  // the port stays marked used: the caller now owns it
  return out;
}

RelayPorts::Slot* RelayPorts::slot_of(const protocol::TransportAddress& local) noexcept {
  for (auto& s : slots_) {
    if (same_ip(s.bind, local)) return &s;
  }
  return nullptr;
}

void RelayPorts::release(const protocol::TransportAddress& local) {
  std::lock_guard lock(mutex_);
  if (Slot* s = slot_of(local)) s->clear(local.port);
  generation_.fetch_add(1, std::memory_order_release);
}

protocol::TransportAddress RelayPorts::advertised(const protocol::TransportAddress& local) const {
  for (const auto& s : slots_) {  // the list is fixed: no lock
    if (!same_ip(s.bind, local)) continue;
    protocol::TransportAddress out = s.advertised;
    out.port = local.port;
    return out;
  }
  return local;
}

bool RelayPorts::has_family(protocol::Family family) const noexcept {
  for (const auto& s : slots_) {
    if (s.bind.family == family) return true;
  }
  return false;
}

bool RelayPorts::is_live(const protocol::TransportAddress& address) const {
  if (!is_own_ip(address)) return false;
  std::lock_guard lock(mutex_);
  if (shared_ports_.contains(address.port)) return true;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.bind.family != address.family) continue;
    if (!same_ip(s.bind, address) && !same_ip(s.advertised, address) && !is_wildcard(s.bind)) {
      continue;
    }
    if (!s.test(address.port)) continue;
    bool held = false;  // reserved, not open
    for (const auto& [token, r] : reservations_)
      held = held || (r.slot == i && r.port == address.port);
    if (!held) return true;
  }
  return false;
}

bool RelayPorts::is_own_ip(const protocol::TransportAddress& address) const {
  for (const auto& ip : addresses_.own_ips) {
    if (same_ip(ip, address)) return true;
  }
  return false;
}

bool RelayPorts::is_own_port(std::uint16_t port) const {
  if (port >= min_ && port <= max_) return true;
  std::lock_guard lock(mutex_);
  return service_ports_.contains(port);
}

void RelayPorts::add_service_port(std::uint16_t port) {
  std::lock_guard lock(mutex_);
  service_ports_.insert(port);
}

void RelayPorts::add_shared_port(std::uint16_t port) {
  std::lock_guard lock(mutex_);
  service_ports_.insert(port);
  shared_ports_.insert(port);
}

std::size_t RelayPorts::in_use(protocol::Family family) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& s : slots_) n += s.bind.family == family ? s.count : 0;
  return n;
}

std::size_t RelayPorts::in_use() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& s : slots_) n += s.count;
  return n;
}

std::size_t RelayPorts::capacity(protocol::Family family) const noexcept {
  std::size_t n = 0;
  for (const auto& s : slots_) n += s.bind.family == family ? std::size_t{max_} - min_ + 1 : 0;
  return n;
}

}  // namespace tern::net
