// ReplyRateLimit: hash the source IP (not the port) to a bucket and refill it by elapsed time.
#include "tern/core/rate_limit.hpp"

#include <algorithm>

namespace tern::core {

template <class F>
bool ReplyRateLimit::with_bucket(const protocol::TransportAddress& source, TimePoint now,
                                 F f) noexcept {
  const std::uint32_t per_second = per_second_.load(std::memory_order_relaxed);
  if (per_second == 0) return true;
  const double burst = std::max<std::uint32_t>(1, burst_.load(std::memory_order_relaxed));
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < source.ip_size(); ++i) h = (h ^ source.ip[i]) * 1099511628211ull;
  const std::size_t index = h % kBuckets;
  const std::lock_guard lock(stripes_[index % kStripes]);
  Bucket& b = buckets_[index];
  if (!b.used) {
    b = {burst, now, true};
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + std::max(0.0, elapsed) * per_second);
    b.last = now;
  }
  return f(b, burst);
}

bool ReplyRateLimit::allow(const protocol::TransportAddress& source, TimePoint now) noexcept {
  return with_bucket(source, now, [](Bucket& b, double) {
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  });
}

void ReplyRateLimit::refund(const protocol::TransportAddress& source, TimePoint now) noexcept {
  with_bucket(source, now, [](Bucket& b, double burst) {
    b.tokens = std::min(burst, b.tokens + 1.0);
    return true;
  });
}

}  // namespace tern::core
