// Label tables and histogram bucketing for the per-worker statistics.
#include "tern/core/stats.hpp"

#include <algorithm>

namespace tern::core {

using protocol::code_number;
using protocol::ErrorCode;

std::size_t stat_code_index(std::uint16_t code) noexcept {
  const auto it = std::find(kStatCodes.begin(), kStatCodes.end(), code);
  if (it == kStatCodes.end()) return stat_code_index(code_number(ErrorCode::kServerError));
  return static_cast<std::size_t>(it - kStatCodes.begin());
}

std::string_view allocation_result_name(std::uint16_t code) noexcept {
  if (code == kStatSuccess) return "success";
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kTryAlternate:
      return "try_alternate";
    case ErrorCode::kBadRequest:
      return "bad_request";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kMobilityForbidden:
      return "mobility_forbidden";
    case ErrorCode::kUnknownAttribute:
      return "unknown_attribute";
    case ErrorCode::kAllocationMismatch:
      return "allocation_mismatch";
    case ErrorCode::kStaleNonce:
      return "stale_nonce";
    case ErrorCode::kAddressFamilyNotSupported:
      return "family_not_supported";
    case ErrorCode::kWrongCredentials:
      return "wrong_credentials";
    case ErrorCode::kUnsupportedTransportProtocol:
      return "unsupported_transport";
    case ErrorCode::kPeerAddressFamilyMismatch:
      return "peer_family_mismatch";
    case ErrorCode::kAllocationQuotaReached:
      return "quota_reached";
    case ErrorCode::kInsufficientCapacity:
      return "insufficient_capacity";
    default:
      return "server_error";
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
