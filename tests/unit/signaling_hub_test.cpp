// The signaling hub without sockets: rooms, verbatim relay, byes, limits and errors.
#include <gtest/gtest.h>

#include "signaling/hub.hpp"

namespace tern::signaling {
namespace {

using Clock = std::chrono::steady_clock;
const Clock::time_point t0{};

bool has(const std::vector<Outgoing>& out, MemberId to, const std::string& fragment) {
  for (const auto& o : out) {
    if (o.to == to && o.text.find(fragment) != std::string::npos) return true;
  }
  return false;
}

TEST(SignalingHub, JoinRelayAndBye) {
  Hub hub;
  const MemberId a = hub.connect(t0), b = hub.connect(t0);
  auto out = hub.receive(a, R"({"type":"join","room":"r1"})", t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, R"({"type":"joined","id":"m1","members":[]})");
  out = hub.receive(b, R"({"type":"join","room":"r1"})", t0);
  EXPECT_TRUE(has(out, a, R"({"type":"peer-joined","id":"m2"})"));
  EXPECT_TRUE(has(out, b, R"("members":["m1"])"));
  const std::string offer = R"({"type":"offer", "sdp":"v=0\r\n..." })";
  out = hub.receive(b, offer, t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, a);
  EXPECT_EQ(out[0].text, offer);  // verbatim, spacing and all
  out = hub.disconnect(a);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to, b);
  EXPECT_EQ(out[0].text, R"({"type":"bye","id":"m1"})");
  EXPECT_EQ(hub.rooms(), 1u);
  hub.disconnect(b);
  EXPECT_EQ(hub.rooms(), 0u);
}

TEST(SignalingHub, Errors) {
  Hub hub;
  const MemberId a = hub.connect(t0), b = hub.connect(t0), c = hub.connect(t0);
  EXPECT_TRUE(has(hub.receive(a, "not json", t0), a, R"("code":"bad-json")"));
  EXPECT_TRUE(has(hub.receive(a, "[1,2]", t0), a, R"("code":"bad-json")"));
  EXPECT_TRUE(has(hub.receive(a, R"({"type":"dance"})", t0), a, R"("code":"unknown-type")"));
  EXPECT_TRUE(has(hub.receive(a, R"({"type":"offer"})", t0), a, R"("code":"not-joined")"));
  EXPECT_TRUE(has(hub.receive(a, R"({"type":"join","room":"bad room!"})", t0), a, "bad-room"));
  EXPECT_EQ(hub.receive(a, R"({"type":"ping"})", t0)[0].text, R"({"type":"pong"})");
  hub.receive(a, R"({"type":"join","room":"r"})", t0);
  hub.receive(b, R"({"type":"join","room":"r"})", t0);
  EXPECT_TRUE(has(hub.receive(c, R"({"type":"join","room":"r"})", t0), c, R"("code":"room-full")"));
}

TEST(SignalingHub, RateLimitPerConnection) {
  Hub hub(HubLimits{.members_per_room = 2, .messages_per_second = 10, .max_rooms = 10});
  const MemberId a = hub.connect(t0);
  int limited = 0;
  for (int i = 0; i < 100; ++i) {
    limited += has(hub.receive(a, R"({"type":"ping"})", t0), a, "rate-limited") ? 1 : 0;
  }
  EXPECT_EQ(limited, 80);  // a burst of 20 goes through
  EXPECT_FALSE(
      has(hub.receive(a, R"({"type":"ping"})", t0 + std::chrono::seconds(1)), a, "rate-limited"));
}

TEST(SignalingHub, RoomSquattingHitsTheRoomLimit) {
  Hub hub(HubLimits{.members_per_room = 2, .messages_per_second = 10, .max_rooms = 3});
  std::vector<MemberId> squatters;
  for (int i = 0; i < 3; ++i) {
    squatters.push_back(hub.connect(t0));
    const std::string join = R"({"type":"join","room":"room)" + std::to_string(i) + R"("})";
    EXPECT_FALSE(has(hub.receive(squatters.back(), join, t0), squatters.back(), "error"));
  }
  const MemberId late = hub.connect(t0);
  EXPECT_TRUE(has(hub.receive(late, R"({"type":"join","room":"fresh"})", t0), late,
                  R"("code":"too-many-rooms")"));
  // Existing rooms still take members; a room freed by its last member is free for others.
  EXPECT_FALSE(has(hub.receive(late, R"({"type":"join","room":"room0"})", t0), late, "error"));
  hub.disconnect(squatters[1]);
  const MemberId next = hub.connect(t0);
  EXPECT_FALSE(has(hub.receive(next, R"({"type":"join","room":"fresh"})", t0), next, "error"));
  EXPECT_EQ(hub.rooms(), 3u);
}

}  // namespace
}  // namespace tern::signaling
