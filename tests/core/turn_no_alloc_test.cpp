// Proves that relaying ChannelData in each direction performs no heap allocation (DESIGN §2).
#include <atomic>
#include <cstdlib>
#include <new>

#include "core/turn_client.hpp"

// GCC cannot see that these replacements pair malloc with free on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
thread_local bool counting = false;
thread_local std::size_t allocations = 0;
}  // namespace

// Replaces the global allocation functions for this test binary: they only count while a
// test asks them to, and otherwise behave like the defaults.
void* operator new(std::size_t size) {
  if (counting) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace tern::test {
namespace {

// Counts what the core sends without storing it (a recording outbox would allocate).
class CountingOutbox final : public core::Outbox {
 public:
  void to_client(const core::FiveTuple&, std::span<const std::uint8_t> bytes) override {
    ++to_client_calls;
    last_size = bytes.size();
  }
  void to_peer(core::RelayId, const protocol::TransportAddress&,
               std::span<const std::uint8_t> bytes) override {
    ++to_peer_calls;
    last_size = bytes.size();
  }
  int to_client_calls = 0;
  int to_peer_calls = 0;
  std::size_t last_size = 0;
};

struct Counting {
  Counting() {
    allocations = 0;
    counting = true;
  }
  ~Counting() { counting = false; }
};

TEST(TurnNoAllocTest, ChannelDataBothWaysAllocatesNothing) {
  for (auto transport : {core::Transport::kUdp, core::Transport::kTcp}) {
    Harness h;
    TurnClient c(h, flow("192.0.2.70", 40000, transport));
    ASSERT_TRUE(c.login_and_allocate().success());
    const auto peer = addr("192.0.2.99", 7000);
    ASSERT_TRUE(c.channel_bind(0x4001, peer).success());

    std::vector<std::uint8_t> frame(4 + 160);
    protocol::write_channel_data_header(frame.data(), 0x4001, 160);
    const std::vector<std::uint8_t> payload(161, 0xAB);  // odd: padded on TCP
    CountingOutbox out;
    {
      Counting scope;
      for (int i = 0; i < 100; ++i) {
        h.server->handle(c.five_tuple(), frame, h.clock.now, out);
        h.server->handle_peer(1, peer, payload, h.clock.now, out);
      }
      EXPECT_EQ(allocations, 0u);
    }
    EXPECT_EQ(out.to_peer_calls, 100);
    EXPECT_EQ(out.to_client_calls, 100);
    EXPECT_EQ(out.last_size, transport == core::Transport::kTcp ? 4u + 164u : 4u + 161u);
  }
}

TEST(TurnNoAllocTest, TheCounterSeesAllocations) {
  Counting scope;
  auto* p = new int(5);
  asm volatile("" : : "g"(p) : "memory");  // keep the compiler from eliding the pair
  delete p;
  EXPECT_EQ(allocations, 1u);
}

}  // namespace
}  // namespace tern::test
