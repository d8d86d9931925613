// A per-source token bucket for replies to unauthenticated requests (401, 438, 400), bounded
// memory, shared by every worker so that the limit holds per process.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "tern/core/five_tuple.hpp"

namespace tern::core {

// Each source IP has a bucket of `burst` tokens refilled at `per_second`; a reply to an
// unauthenticated request takes a token, and a request from that IP that then authenticates
// gives one back. So a source whose challenges are answered (an office, a campus or a carrier
// NAT with hundreds of clients behind one address) never runs dry, while a source that never
// authenticates (a flood, or a spoofed victim of reflection) gets `burst` replies and then
// `per_second`.
//
// Sources share buckets by hash, so memory stays fixed whatever the number of sources; a
// collision can only make two sources share one budget. Thread-safe: a source's port picks
// the worker (SO_REUSEPORT), so one source's requests reach every worker.
class ReplyRateLimit {
 public:
  // `per_second` = 0: unlimited.
  ReplyRateLimit(std::uint32_t per_second, std::uint32_t burst)
      : per_second_(per_second), burst_(burst) {}

  // Takes a token for a reply to `source`; false = stay silent.
  bool allow(const protocol::TransportAddress& source, TimePoint now) noexcept;
  // A request from `source` authenticated: the challenge it answered is given back.
  void refund(const protocol::TransportAddress& source, TimePoint now) noexcept;
  // A reload's new limits; buckets keep their tokens (capped at the new burst).
  void set_limits(std::uint32_t per_second, std::uint32_t burst) noexcept {
    per_second_.store(per_second, std::memory_order_relaxed);
    burst_.store(burst, std::memory_order_relaxed);
  }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
    bool used = false;
  };
  // Refills the bucket of `source` to `now` and calls `f(bucket, burst)` under its lock.
  template <class F>
  bool with_bucket(const protocol::TransportAddress& source, TimePoint now, F f) noexcept;

  static constexpr std::size_t kBuckets = 4096;
  static constexpr std::size_t kStripes = 64;  // bucket i is guarded by stripe i % kStripes
  std::atomic<std::uint32_t> per_second_;
  std::atomic<std::uint32_t> burst_;
  std::array<Bucket, kBuckets> buckets_{};
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace tern::core
