// ConnectionBudget: counts open connections in total and per source IP behind one mutex; accepts
// are rare next to packets, so a lock here costs nothing on the data path.
#include "connection_budget.hpp"

namespace tern::net {
namespace {

std::string ip_key(const protocol::TransportAddress& source) {
  return std::string(reinterpret_cast<const char*>(source.ip.data()), source.ip_size());
}

std::string ip_port_key(const protocol::TransportAddress& a) {
  return ip_key(a).append({static_cast<char>(a.port >> 8), static_cast<char>(a.port & 0xFF)});
}

}  // namespace

void ConnectionBudget::set_limits(std::size_t max, std::size_t per_source) {
  std::lock_guard lock(mutex_);
  max_ = max;
  per_source_ = per_source;
}

void ConnectionBudget::set_trusted_proxies(std::vector<core::Cidr> networks) {
  std::lock_guard lock(mutex_);
  trusted_proxies_ = std::move(networks);
}

bool ConnectionBudget::trusted_proxy(const protocol::TransportAddress& source) const {
  std::lock_guard lock(mutex_);
  for (const auto& n : trusted_proxies_) {
    if (n.contains(source)) return true;
  }
  return false;
}

bool ConnectionBudget::try_acquire(const protocol::TransportAddress& source, bool limit_source) {
  std::lock_guard lock(mutex_);
  if (active_ >= max_) {
    count_refusals(Refusal::kLimit, 1);
    return false;
  }
  auto [it, inserted] = by_source_.try_emplace(ip_key(source), 0);
  if (limit_source && per_source_ != 0 && it->second >= per_source_) {
    if (inserted) by_source_.erase(it);
    count_refusals(Refusal::kPerSource, 1);
    return false;
  }
  ++it->second;
  ++active_;
  return true;
}

bool ConnectionBudget::try_transfer(const protocol::TransportAddress& from,
                                    const protocol::TransportAddress& to) {
  std::lock_guard lock(mutex_);
  if (proxied_clients_.contains(ip_port_key(to))) {
    count_refusals(Refusal::kProxyHeader, 1);
    return false;
  }
  auto [it, inserted] = by_source_.try_emplace(ip_key(to), 0);
  if (per_source_ != 0 && it->second >= per_source_) {
    if (inserted) by_source_.erase(it);
    count_refusals(Refusal::kPerSource, 1);
    return false;
  }
  ++it->second;
  proxied_clients_.insert(ip_port_key(to));
  auto old = by_source_.find(ip_key(from));
  if (old != by_source_.end() && --old->second == 0) by_source_.erase(old);
  return true;
}

void ConnectionBudget::release(const protocol::TransportAddress& source, bool transferred) {
  std::lock_guard lock(mutex_);
  if (transferred) proxied_clients_.erase(ip_port_key(source));
  auto it = by_source_.find(ip_key(source));
  if (it == by_source_.end()) return;
  if (--it->second == 0) by_source_.erase(it);
  --active_;
}

void ConnectionBudget::count_refusals(Refusal why, std::uint64_t n) {
  refused_[static_cast<std::size_t>(why)].fetch_add(n, std::memory_order_relaxed);
}

}  // namespace tern::net
