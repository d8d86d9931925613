// Allocation quotas shared by all workers (per user and in total); control path only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace tern::core {

class AllocationQuota {
 public:
  AllocationQuota(std::uint32_t per_user, std::uint32_t total) : per_user_(per_user), total_(total) {}

  // Counts one more allocation for `user`; false (and nothing counted) when over a limit.
  // A limit of 0 means unlimited.
  bool try_acquire(std::string_view user);
  void release(std::string_view user);
  std::uint32_t in_use() const;
  // New limits apply to new allocations; live ones are never ended by a lower limit.
  void set_limits(std::uint32_t per_user, std::uint32_t total);

 private:
  mutable std::mutex mutex_;
  std::uint32_t per_user_;
  std::uint32_t total_;
  std::uint32_t used_ = 0;
  std::map<std::string, std::uint32_t, std::less<>> by_user_;
};

}  // namespace tern::core
