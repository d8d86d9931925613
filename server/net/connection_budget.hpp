// ConnectionBudget: the process-wide and per-source limits on TCP and TLS client connections.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "tern/core/five_tuple.hpp"
#include "tern/protocol/address.hpp"

namespace tern::net {

// Why a connection was closed as soon as it was accepted; indexes refused().
enum class Refusal : std::uint8_t { kLimit, kPerSource, kDescriptors };
inline constexpr std::size_t kRefusalCount = 3;

class ConnectionBudget {
 public:
  void set_limits(std::size_t max, std::size_t per_source);  // 0 per source = no limit
  // Takes one connection from `source`, or counts the refusal and returns false.
  bool try_acquire(const protocol::TransportAddress& source);
  void release(const protocol::TransportAddress& source);
  void count_refusals(Refusal why, std::uint64_t n);

  std::atomic<std::int64_t>& by_transport(core::Transport t) {
    return by_transport_[static_cast<std::size_t>(t)];
  }
  std::int64_t active(core::Transport t) const {
    return by_transport_[static_cast<std::size_t>(t)].load(std::memory_order_relaxed);
  }
  std::uint64_t refused(Refusal why) const {
    return refused_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }

 private:
  std::mutex mutex_;
  std::size_t max_ = 0;
  std::size_t per_source_ = 0;
  std::size_t active_ = 0;
  std::unordered_map<std::string, std::uint32_t> by_source_;  // IP bytes -> open connections
  std::array<std::atomic<std::int64_t>, 3> by_transport_{};   // [core::Transport], for metrics
  std::array<std::atomic<std::uint64_t>, kRefusalCount> refused_{};
};

}  // namespace tern::net
