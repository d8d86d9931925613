// AllocationQuota: counts per username and in total behind one mutex (control path only).
#include "tern/core/quota.hpp"

namespace tern::core {

bool AllocationQuota::try_acquire(std::string_view user) {
  std::lock_guard lock(mutex_);
  if (total_ != 0 && used_ >= total_) return false;
  auto it = by_user_.find(user);
  const std::uint32_t mine = it == by_user_.end() ? 0 : it->second;
  if (per_user_ != 0 && mine >= per_user_) return false;
  if (it == by_user_.end()) {
    by_user_.emplace(std::string(user), 1);
  } else {
    ++it->second;
  }
  ++used_;
  return true;
}

void AllocationQuota::release(std::string_view user) {
  std::lock_guard lock(mutex_);
  auto it = by_user_.find(user);
  if (it == by_user_.end()) return;
  if (--it->second == 0) by_user_.erase(it);
  --used_;
}

void AllocationQuota::set_limits(std::uint32_t per_user, std::uint32_t total) {
  std::lock_guard lock(mutex_);
  per_user_ = per_user;
  total_ = total;
}

std::uint32_t AllocationQuota::in_use() const {
  std::lock_guard lock(mutex_);
  return used_;
}

}  // namespace tern::core
