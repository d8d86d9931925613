// A per-source token bucket for replies to unauthenticated requests (401, 438, 400), bounded
// memory, shared by every worker so that the limit holds per process.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

#include "tern/core/five_tuple.hpp"

namespace tern::core {

// Sources share buckets by hash, so memory stays fixed whatever the number of sources; a
// collision can only make two sources share one budget. Thread-safe: a source's port picks
// the worker (SO_REUSEPORT), so one source's requests reach every worker.
class ReplyRateLimit {
 public:
  // `per_second` replies per source IP on average, bursts of up to twice that; 0 = unlimited.
  explicit ReplyRateLimit(std::uint32_t per_second) : per_second_(per_second) {}

  bool allow(const protocol::TransportAddress& source, TimePoint now) noexcept;
  // A reload's new rate; buckets keep their tokens.
  void set_rate(std::uint32_t per_second) noexcept {
    per_second_.store(per_second, std::memory_order_relaxed);
  }

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
    bool used = false;
  };
  static constexpr std::size_t kBuckets = 4096;
  static constexpr std::size_t kStripes = 64;  // bucket i is guarded by stripe i % kStripes
  std::atomic<std::uint32_t> per_second_;
  std::array<Bucket, kBuckets> buckets_{};
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace tern::core
