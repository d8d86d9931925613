// ReplyRateLimit: hash the source IP (not the port) to a bucket and refill it by elapsed time.
#include "rate_limit.hpp"

#include <algorithm>

namespace tern::core {

bool ReplyRateLimit::allow(const protocol::TransportAddress& source, TimePoint now) noexcept {
  if (per_second_ == 0) return true;
  std::uint64_t h = 1469598103934665603ull;
  for (std::size_t i = 0; i < source.ip_size(); ++i) h = (h ^ source.ip[i]) * 1099511628211ull;
  Bucket& b = buckets_[h % kBuckets];
  const double burst = 2.0 * per_second_;
  if (!b.used) {
    b = {burst, now, true};
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst, b.tokens + std::max(0.0, elapsed) * per_second_);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace tern::core
