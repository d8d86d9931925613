// Coalescing: a worker coalesces under a sustained rate that would fill a batch per interval,
// never for one burst after a quiet spell, and stops when the rate falls.
#include "net/coalescing.hpp"

#include <gtest/gtest.h>

namespace tern::net {
namespace {

using namespace std::chrono_literals;
using Clock = Coalescing::Clock;

TEST(Coalescing, OneBurstAfterQuietDoesNotCoalesce) {
  const auto t0 = Clock::time_point{} + 1s;
  Coalescing c(250us, 32, t0);
  // A 20 ms tick of 100 audio streams: 200 datagrams (in and echoed) in a few wake-ups.
  auto now = t0 + 20ms;
  EXPECT_FALSE(c.after_wake(120, now));
  EXPECT_FALSE(c.after_wake(80, now + 100us));
  for (int tick = 1; tick < 50; ++tick) {  // a second of ticks: 10k datagrams/s
    now = t0 + 20ms * (tick + 1);
    EXPECT_FALSE(c.after_wake(120, now)) << tick;
    EXPECT_FALSE(c.after_wake(80, now + 100us)) << tick;
  }
}

TEST(Coalescing, SustainedLoadCoalescesAndStopsWhenItEnds) {
  const auto t0 = Clock::time_point{} + 1s;
  Coalescing c(250us, 32, t0);
  auto now = t0;
  bool busy = false;
  for (int i = 1; i <= 40; ++i) {  // 40 datagrams per 250 us: 160k/s, for 10 ms
    now = t0 + 250us * i;
    busy = c.after_wake(40, now);
  }
  EXPECT_TRUE(busy);
  EXPECT_FALSE(c.after_wake(1, now + 50ms));  // quiet again: the next window decides at once
}

TEST(Coalescing, BelowTheBatchRateDoesNotCoalesce) {
  const auto t0 = Clock::time_point{} + 1s;
  Coalescing c(250us, 32, t0);
  bool busy = false;
  for (int i = 1; i <= 40; ++i) busy = c.after_wake(24, t0 + 250us * i);  // 96k/s < 128k/s
  EXPECT_FALSE(busy);
  Coalescing longer(1000us, 32, t0);  // a longer interval needs a lower rate: 32k/s
  for (int i = 1; i <= 40; ++i) busy = longer.after_wake(24, t0 + 250us * i);
  EXPECT_TRUE(busy);
}

}  // namespace
}  // namespace tern::net
