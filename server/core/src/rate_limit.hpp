// A per-source token bucket for replies to unauthenticated requests (401, 438, 400), bounded memory.
#pragma once

#include <array>
#include <cstdint>

#include "tern/core/five_tuple.hpp"

namespace tern::core {

// Sources share buckets by hash, so memory stays fixed whatever the number of sources; a
// collision can only make two sources share one budget.
class ReplyRateLimit {
 public:
  // `per_second` replies per source IP on average, bursts of up to twice that; 0 = unlimited.
  explicit ReplyRateLimit(std::uint32_t per_second) : per_second_(per_second) {}

  bool allow(const protocol::TransportAddress& source, TimePoint now) noexcept;

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint last{};
    bool used = false;
  };
  static constexpr std::size_t kBuckets = 4096;
  std::uint32_t per_second_;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace tern::core
