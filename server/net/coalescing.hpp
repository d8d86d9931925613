// When a worker coalesces wake-ups: only under sustained load, judged by the datagram rate over
// the last few milliseconds, never for one burst (a 20 ms tick of many audio streams).
#pragma once

#include <chrono>
#include <cstdint>

namespace tern::net {

class Coalescing {
 public:
  using Clock = std::chrono::steady_clock;
  // A window this long decides; its rate must fill `batch` datagrams per `interval` (so that a
  // coalesced wake-up would find a full batch) for the worker to coalesce.
  static constexpr auto kWindow = std::chrono::milliseconds(5);

  Coalescing(std::chrono::microseconds interval, std::uint64_t batch, Clock::time_point now)
      : interval_(interval), batch_(batch), window_start_(now) {}

  // `received` datagrams were handled by the wake-up that ended at `now`; true: sleep out the
  // rest of the interval before waiting again.
  bool after_wake(std::uint64_t received, Clock::time_point now) {
    count_ += received;
    const auto elapsed = now - window_start_;
    if (elapsed >= kWindow) {
      // count / elapsed >= batch / interval, without division
      busy_ =
          count_ * static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count()) >=
          batch_ * static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
      count_ = 0;
      window_start_ = now;
    }
    return busy_;
  }

 private:
  std::chrono::microseconds interval_;
  std::uint64_t batch_;
  Clock::time_point window_start_;
  std::uint64_t count_ = 0;
  bool busy_ = false;
};

}  // namespace tern::net
