// Per-worker counters and gauges: written by one worker, read by the metrics scrape, no locks.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tern/core/five_tuple.hpp"
#include "tern/protocol/error_code.hpp"

namespace tern::core {

// One writer: a relaxed load and store, no locked instruction on the packet path. Readers on
// other threads see a recent value.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

enum class StatMethod : std::uint8_t {
  kBinding,
  kAllocate,
  kRefresh,
  kCreatePermission,
  kChannelBind,
  kOther,
  kCount
};
inline constexpr std::array<std::string_view, 6> kStatMethodNames = {
    "binding", "allocate", "refresh", "create_permission", "channel_bind", "other"};

// Response codes tern sends; 200 stands for every success.
inline constexpr std::uint16_t kStatSuccess = 200;
inline constexpr std::array<std::uint16_t, 18> kStatCodes = [] {
  using protocol::ErrorCode;
  using protocol::code_number;
  return std::array<std::uint16_t, 18>{kStatSuccess,
                                       code_number(ErrorCode::kTryAlternate),
                                       code_number(ErrorCode::kBadRequest),
                                       code_number(ErrorCode::kUnauthenticated),
                                       code_number(ErrorCode::kForbidden),
                                       code_number(ErrorCode::kMobilityForbidden),
                                       code_number(ErrorCode::kUnknownAttribute),
                                       code_number(ErrorCode::kAllocationMismatch),
                                       code_number(ErrorCode::kStaleNonce),
                                       code_number(ErrorCode::kAddressFamilyNotSupported),
                                       code_number(ErrorCode::kWrongCredentials),
                                       code_number(ErrorCode::kUnsupportedTransportProtocol),
                                       code_number(ErrorCode::kPeerAddressFamilyMismatch),
                                       code_number(ErrorCode::kConnectionAlreadyExists),
                                       code_number(ErrorCode::kConnectionTimeoutOrFailure),
                                       code_number(ErrorCode::kAllocationQuotaReached),
                                       code_number(ErrorCode::kServerError),
                                       code_number(ErrorCode::kInsufficientCapacity)};
}();
std::size_t stat_code_index(std::uint16_t code) noexcept;  // unknown codes count as Server Error

// tern_allocation_attempts_total{result}: success, then one per error code an Allocate gets.
std::string_view allocation_result_name(std::uint16_t code) noexcept;

enum class AuthFailure : std::uint8_t {
  kMissingAttributes,
  kPasswordAlgorithms,
  kWrongRealm,
  kUnknownUser,
  kBadIntegrity,
  kStaleNonce,
  kCount
};
inline constexpr std::array<std::string_view, 6> kAuthFailureNames = {
    "missing_attributes", "password_algorithms", "wrong_realm",
    "unknown_user",       "bad_integrity",       "stale_nonce"};

enum class Drop : std::uint8_t {
  kNoPermission,
  kDeniedPeer,
  kQuota,
  kMalformed,
  kRateLimited,
  kTooLarge,  // a datagram larger than tern reads (4096 bytes), from a client or a peer
  kCount
};
inline constexpr std::array<std::string_view, 6> kDropNames = {
    "no_permission", "denied_peer", "quota", "malformed", "rate_limited", "too_large"};
static_assert(kDropNames.size() == static_cast<std::size_t>(Drop::kCount));

// Relayed traffic: the client leg and the peer leg, each received and sent.
struct LegCounters {
  Counter packets;
  Counter bytes;
  void count(std::size_t n) noexcept {
    packets.add();
    bytes.add(n);
  }
};

// Request handling time in seconds, per method: fixed buckets, summed at scrape.
inline constexpr std::array<double, 13> kDurationBuckets = {
    1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 1e-1};
struct DurationHistogram {
  std::array<Counter, kDurationBuckets.size()> buckets;  // non-cumulative
  Counter count;
  Counter sum_ns;
  void observe(std::chrono::nanoseconds d) noexcept;
};

struct ServerStats {
  std::array<std::array<Counter, kStatCodes.size()>, 6> requests;  // [method][code]
  std::array<DurationHistogram, 6> durations;                      // [method]
  std::array<Counter, kStatCodes.size()> allocation_attempts;      // [code]; 200 = success
  std::array<Counter, 6> auth_failures;                            // [AuthFailure]
  Counter auth_challenges;
  // RFC 8016: allocations that moved to a client's new 5-tuple, and of those, the ones that
  // came over from another worker (counted where they arrive).
  Counter allocations_moved;
  Counter allocations_moved_in;
  std::array<Counter, kDropNames.size()> dropped;                        // [Drop]
  std::array<Counter, kTransportCount> binding_requests;                 // [Transport]
  std::array<std::array<Gauge, 2>, kTransportCount> allocations_active;  // [Transport][IPv4, IPv6]
  Gauge permissions_active;                                              // as of the last sweep
  Gauge channels_active;
  LegCounters client_received, client_sent, peer_received, peer_sent;

  void request(StatMethod m, std::uint16_t code) noexcept {
    requests[static_cast<std::size_t>(m)][stat_code_index(code)].add();
  }
  void drop(Drop reason) noexcept { dropped[static_cast<std::size_t>(reason)].add(); }
  void auth_failure(AuthFailure reason) noexcept {
    auth_failures[static_cast<std::size_t>(reason)].add();
  }
  std::uint64_t dropped_count(Drop reason) const noexcept {
    return dropped[static_cast<std::size_t>(reason)].get();
  }
  std::uint64_t allocations_created() const noexcept { return allocation_attempts[0].get(); }
};

}  // namespace tern::core
