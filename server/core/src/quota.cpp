// AllocationQuota: counts per username, per source IP and in total behind one mutex.
#include "tern/core/quota.hpp"

namespace tern::core {
namespace {

std::uint32_t count_of(const std::map<std::string, std::uint32_t, std::less<>>& counts,
                       std::string_view key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

void add(std::map<std::string, std::uint32_t, std::less<>>& counts, std::string_view key) {
  auto it = counts.find(key);
  if (it == counts.end()) {
    counts.emplace(std::string(key), 1);
  } else {
    ++it->second;
  }
}

bool remove(std::map<std::string, std::uint32_t, std::less<>>& counts, std::string_view key) {
  auto it = counts.find(key);
  if (it == counts.end()) return false;
  if (--it->second == 0) counts.erase(it);
  return true;
}

}  // namespace

std::string AllocationQuota::ip_key(const protocol::TransportAddress& source) {
  return std::string(reinterpret_cast<const char*>(source.ip.data()), source.ip_size());
}

bool AllocationQuota::try_acquire(std::string_view user, const protocol::TransportAddress& source) {
  const std::string ip = ip_key(source);
  std::lock_guard lock(mutex_);
  if (limits_.total != 0 && used_ >= limits_.total) return false;
  if (limits_.per_user != 0 && count_of(by_user_, user) >= limits_.per_user) return false;
  if (limits_.per_source_ip != 0 && count_of(by_ip_, ip) >= limits_.per_source_ip) return false;
  add(by_user_, user);
  add(by_ip_, ip);
  ++used_;
  return true;
}

void AllocationQuota::release(std::string_view user, const protocol::TransportAddress& source) {
  const std::string ip = ip_key(source);
  std::lock_guard lock(mutex_);
  if (!remove(by_user_, user)) return;
  remove(by_ip_, ip);
  --used_;
}

void AllocationQuota::set_limits(QuotaLimits limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
}

std::uint32_t AllocationQuota::in_use() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace tern::core
