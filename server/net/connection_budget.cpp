// ConnectionBudget: counts open connections in total and per source IP behind one mutex; accepts
// are rare next to packets, so a lock here costs nothing on the data path.
#include "connection_budget.hpp"

namespace tern::net {
namespace {

std::string ip_key(const protocol::TransportAddress& source) {
  return std::string(reinterpret_cast<const char*>(source.ip.data()), source.ip_size());
}

}  // namespace

void ConnectionBudget::set_limits(std::size_t max, std::size_t per_source) {
  std::lock_guard lock(mutex_);
  max_ = max;
  per_source_ = per_source;
}

bool ConnectionBudget::try_acquire(const protocol::TransportAddress& source) {
  std::lock_guard lock(mutex_);
  if (active_ >= max_) {
    refused_[static_cast<std::size_t>(Refusal::kLimit)].fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  auto [it, inserted] = by_source_.try_emplace(ip_key(source), 0);
  if (per_source_ != 0 && it->second >= per_source_) {
    refused_[static_cast<std::size_t>(Refusal::kPerSource)].fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  ++it->second;
  ++active_;
  return true;
}

void ConnectionBudget::release(const protocol::TransportAddress& source) {
  std::lock_guard lock(mutex_);
  auto it = by_source_.find(ip_key(source));
  if (it == by_source_.end()) return;
  if (--it->second == 0) by_source_.erase(it);
  --active_;
}

void ConnectionBudget::count_refusals(Refusal why, std::uint64_t n) {
  refused_[static_cast<std::size_t>(why)].fetch_add(n, std::memory_order_relaxed);
}

}  // namespace tern::net
