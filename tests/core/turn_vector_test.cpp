// The neg_* vectors through the TURN core: dropped without a reply, with or without an allocation.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/turn_client.hpp"
#include "vectors/vector_file.hpp"

namespace tern::test {
namespace {

// Its header asks for a 420 with UNKNOWN-ATTRIBUTES, not silence (RFC 8489 §6.3.1).
constexpr std::string_view kAnswered = "neg_unknown_comprehension_required.hex";

std::vector<std::string> negative_vectors() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(TERN_VECTORS_DIR)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("neg_") && name.ends_with(".hex")) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(TurnVectorTest, NegativeVectorsGetNoReply) {
  const auto names = negative_vectors();
  ASSERT_GE(names.size(), 8u);
  Harness h;
  const core::FiveTuple f = flow("192.0.2.1", 32853);
  for (const auto& name : names) {
    if (name == kAnswered) continue;
    h.server->handle(f, testing::load_vector(name), h.clock.now, h.out);
    EXPECT_TRUE(h.out.sent.empty()) << name;
  }
  EXPECT_TRUE(h.out.to_peers.empty());
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(TurnVectorTest, NegativeVectorsOnAnAllocationWithBoundChannels) {
  Harness h;
  TurnClient c(h, flow("192.0.2.1", 32853));
  c.login_and_allocate();
  // The ChannelData vectors use 0x4001 (truncated) and 0x5000 (reserved).
  ASSERT_TRUE(c.channel_bind(0x4001, addr("192.0.2.10", 5000)).success());
  const std::size_t replies = h.out.sent.size();
  for (const auto& name : negative_vectors()) {
    if (name == kAnswered) continue;
    h.server->handle(c.five_tuple(), testing::load_vector(name), h.clock.now, h.out);
    EXPECT_EQ(h.out.sent.size(), replies) << name;
    EXPECT_TRUE(h.out.to_peers.empty()) << name;
  }
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
}

TEST(TurnVectorTest, UnknownComprehensionRequiredVectorGets420) {
  Harness h;
  h.server->handle(flow("192.0.2.1", 32853), testing::load_vector(std::string(kAnswered)),
                   h.clock.now, h.out);
  ASSERT_EQ(h.out.sent.size(), 1u);
  Reply r{h.out.sent[0].bytes};
  EXPECT_EQ(r.type(), 0x0111);
  EXPECT_EQ(r.error(), 420);
  auto unknown = protocol::decode_unknown_attributes(r.raw(attr::kUnknownAttributes));
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->count, 1u);
  EXPECT_EQ(unknown->types[0], 0x7FFF);
}

TEST(TurnVectorTest, ZeroLengthChannelDataIsRelayedAsAnEmptyDatagram) {
  Harness h;
  TurnClient c(h, flow("192.0.2.1", 32853));
  c.login_and_allocate();
  const auto vector = testing::load_vector("edge_channeldata_zero_length.hex");
  ASSERT_GE(vector.size(), 4u);
  const auto channel = static_cast<std::uint16_t>(vector[0] << 8 | vector[1]);
  ASSERT_TRUE(c.channel_bind(channel, addr("192.0.2.10", 5000)).success());
  c.send(vector);
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_TRUE(h.out.to_peers[0].bytes.empty());
}

}  // namespace
}  // namespace tern::test
