// Allocation quotas shared by all workers (per user, per source IP and in total); control path
// only.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "tern/protocol/address.hpp"

namespace tern::core {

// A limit of 0 means unlimited.
struct QuotaLimits {
  std::uint32_t per_user = 0;
  std::uint32_t per_source_ip = 0;
  std::uint32_t total = 0;
};

class AllocationQuota {
 public:
  explicit AllocationQuota(QuotaLimits limits) : limits_(limits) {}

  // Counts one more allocation for `user` from the IP of `source` (its port is ignored);
  // false, and nothing counted, when that would pass a limit.
  bool try_acquire(std::string_view user, const protocol::TransportAddress& source);
  void release(std::string_view user, const protocol::TransportAddress& source);
  std::uint32_t in_use() const;
  // New limits apply to new allocations; live ones are never ended by a lower limit.
  void set_limits(QuotaLimits limits);

 private:
  static std::string ip_key(const protocol::TransportAddress& source);

  mutable std::mutex mutex_;
  QuotaLimits limits_;
  std::uint32_t used_ = 0;
  std::map<std::string, std::uint32_t, std::less<>> by_user_;
  std::map<std::string, std::uint32_t, std::less<>> by_ip_;
};

}  // namespace tern::core
