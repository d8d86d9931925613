// Label tables and histogram bucketing for the per-worker statistics.
#include "tern/core/stats.hpp"

#include <algorithm>

namespace tern::core {

std::size_t stat_code_index(std::uint16_t code) noexcept {
  const auto it = std::find(kStatCodes.begin(), kStatCodes.end(), code);
  if (it == kStatCodes.end()) return stat_code_index(500);
  return static_cast<std::size_t>(it - kStatCodes.begin());
}

std::string_view allocation_result_name(std::uint16_t code) noexcept {
  switch (code) {
    case 200: return "success";
    case 300: return "try_alternate";
    case 400: return "bad_request";
    case 401: return "unauthenticated";
    case 403: return "forbidden";
    case 420: return "unknown_attribute";
    case 437: return "allocation_mismatch";
    case 438: return "stale_nonce";
    case 440: return "family_not_supported";
    case 441: return "wrong_credentials";
    case 442: return "unsupported_transport";
    case 443: return "peer_family_mismatch";
    case 486: return "quota_reached";
    case 508: return "insufficient_capacity";
    default: return "server_error";
  }
}

void DurationHistogram::observe(std::chrono::nanoseconds d) noexcept {
  const double seconds = std::chrono::duration<double>(d).count();
  for (std::size_t i = 0; i < kDurationBuckets.size(); ++i) {
    if (seconds <= kDurationBuckets[i]) {
      buckets[i].add();
      break;
    }
  }
  count.add();
  sum_ns.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())));
}

}  // namespace tern::core
