// RelayPorts: random port choice over the configured range, reservations and liveness checks.
#include "relay_ports.hpp"

namespace tern::net {

namespace {
constexpr auto kReservationHold = std::chrono::seconds(30);
constexpr int kRandomTries = 64;

bool same_ip(const protocol::TransportAddress& a, const protocol::TransportAddress& b) {
  return a.family == b.family && a.ip == b.ip;
}
}  // namespace

RelayPorts::RelayPorts(RelayAddresses addresses, std::uint16_t min_port, std::uint16_t max_port)
    : addresses_(std::move(addresses)),
      min_(min_port),
      max_(max_port),
      rng_(std::random_device{}()) {}

void RelayPorts::expire_reservations() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires <= now) {
      used(it->second.family).erase(it->second.port);
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<RelayPorts::Pick> RelayPorts::pick(protocol::Family family, bool even,
                                                 bool reserve_next) {
  std::lock_guard lock(mutex_);
  expire_reservations();
  auto& taken = used(family);
  const bool pair = even || reserve_next;
  auto free_at = [&](std::uint32_t p) {
    if (p < min_ || p > max_ || taken.contains(static_cast<std::uint16_t>(p))) return false;
    if (pair && p % 2 != 0) return false;
    return !reserve_next || (p + 1 <= max_ && !taken.contains(static_cast<std::uint16_t>(p + 1)));
  };
  std::uniform_int_distribution<std::uint32_t> dist(min_, max_);
  std::optional<std::uint32_t> chosen;
  for (int i = 0; i < kRandomTries && !chosen; ++i) {
    std::uint32_t p = dist(rng_);
    if (pair) p &= ~1u;
    if (free_at(p)) chosen = p;
  }
  // Nearly full: scan from a random start so the last free ports are still found.
  const std::uint32_t start = dist(rng_);
  for (std::uint32_t i = 0; !chosen && i <= std::uint32_t{max_} - min_; ++i) {
    const std::uint32_t p = min_ + (start - min_ + i) % (std::uint32_t{max_} - min_ + 1);
    if (free_at(p)) chosen = p;
  }
  if (!chosen) return std::nullopt;
  Pick result{static_cast<std::uint16_t>(*chosen), 0};
  taken.insert(result.port);
  if (reserve_next) {
    const auto next = static_cast<std::uint16_t>(result.port + 1);
    taken.insert(next);
    do {
      result.token = rng_();
    } while (result.token == 0 || reservations_.contains(result.token));
    reservations_[result.token] = {family, next,
                                   std::chrono::steady_clock::now() + kReservationHold};
  }
  return result;
}

std::optional<std::pair<protocol::Family, std::uint16_t>> RelayPorts::take_reserved(
    std::uint64_t token) {
  std::lock_guard lock(mutex_);
  expire_reservations();
  auto it = reservations_.find(token);
  if (it == reservations_.end()) return std::nullopt;
  auto result = std::make_pair(it->second.family, it->second.port);
  reservations_.erase(it);  // the port stays marked used: the caller now owns it
  return result;
}

void RelayPorts::release(protocol::Family family, std::uint16_t port) {
  std::lock_guard lock(mutex_);
  used(family).erase(port);
  generation_.fetch_add(1, std::memory_order_release);
}

bool RelayPorts::is_live(const protocol::TransportAddress& address) const {
  if (!is_own_ip(address)) return false;
  std::lock_guard lock(mutex_);
  const auto& taken = address.family == protocol::Family::kIPv4 ? v4_ : v6_;
  if (!taken.contains(address.port)) return false;
  for (const auto& [token, r] : reservations_) {
    if (r.family == address.family && r.port == address.port) return false;  // held, not open
  }
  return true;
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

std::size_t RelayPorts::in_use(protocol::Family family) const {
  std::lock_guard lock(mutex_);
  return family == protocol::Family::kIPv4 ? v4_.size() : v6_.size();
}

std::size_t RelayPorts::in_use() const {
  std::lock_guard lock(mutex_);
  return v4_.size() + v6_.size();
}

}  // namespace tern::net
