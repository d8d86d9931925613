// RFC 5780 NAT behaviour discovery in the core: the source CHANGE-REQUEST picks, RESPONSE-PORT,
// RESPONSE-ORIGIN, OTHER-ADDRESS, PADDING echoed but never redirected, and 420 when it is off.
#include <gtest/gtest.h>

#include <functional>

#include "core/fake_outbox.hpp"
#include "tern/core/server.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"

namespace tern {
namespace {

using protocol::MessageBuilder;
using protocol::MessageView;
using protocol::TransportAddress;
namespace attr = protocol::attr;

TransportAddress at(const char* text) {
  TransportAddress a;
  EXPECT_TRUE(TransportAddress::parse(text, a)) << text;
  return a;
}

core::ServerOptions options(bool on) {
  core::ServerOptions o;
  if (on)
    o.nat_discovery =
        core::ServerOptions::NatDiscovery{at("198.51.100.1:3478"), at("198.51.100.2:3479")};
  return o;
}

struct Answer {
  core::FiveTuple to;
  std::vector<std::uint8_t> bytes;
  MessageView view() const { return *MessageView::parse(bytes); }
  std::string address(std::uint16_t type) const {
    const auto v = view().find_value(type);
    if (!v) return "none";
    const auto a = protocol::decode_address(*v);
    return a ? a->to_string() : "bad";
  }
  std::uint16_t error() const {
    const auto v = view().find_value(attr::kErrorCode);
    return v ? protocol::decode_error_code(*v)->code : 0;
  }
};

std::optional<Answer> ask(core::Server& server, const char* arrived_at,
                          const std::function<void(MessageBuilder&)>& add) {
  std::vector<std::uint8_t> buf(4096);
  MessageBuilder b(buf, 0x0001, protocol::TransactionId{1, 2, 3});
  add(b);
  const auto msg = b.finish();
  core::FiveTuple flow;
  flow.client = at("192.0.2.7:40000");
  flow.server = at(arrived_at);
  test::FakeOutbox out;
  server.handle(flow, *msg, core::Instant::current(), out);
  if (out.sent.empty()) return std::nullopt;
  return Answer{out.sent[0].flow, out.sent[0].bytes};
}

void change(MessageBuilder& b, std::uint32_t flags) {
  b.add_u32(attr::kChangeRequest, flags);
}

TEST(NatDiscoveryTest, ChangeRequestPicksTheSource) {
  core::Server server(options(true));
  struct Case {
    std::uint32_t flags;
    const char* source;
  } cases[] = {{0, "198.51.100.1:3478"},
               {4, "198.51.100.2:3478"},
               {2, "198.51.100.1:3479"},
               {6, "198.51.100.2:3479"}};
  for (const auto& c : cases) {
    const auto a = ask(server, "198.51.100.1:3478", [&](MessageBuilder& b) { change(b, c.flags); });
    ASSERT_TRUE(a) << c.flags;
    EXPECT_EQ(a->to.server.to_string(), c.source) << c.flags;
    EXPECT_EQ(a->to.client.to_string(), "192.0.2.7:40000");
    EXPECT_EQ(a->address(attr::kResponseOrigin), c.source);
    EXPECT_EQ(a->address(attr::kOtherAddress), "198.51.100.2:3479");
    EXPECT_EQ(a->address(attr::kMappedAddress), "192.0.2.7:40000");
  }
}

TEST(NatDiscoveryTest, OtherAddressIsRelativeToWhereTheRequestArrived) {
  core::Server server(options(true));
  const auto a = ask(server, "198.51.100.2:3478", [](MessageBuilder& b) { change(b, 6); });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address(attr::kOtherAddress), "198.51.100.1:3479");
  EXPECT_EQ(a->to.server.to_string(), "198.51.100.1:3479");
}

TEST(NatDiscoveryTest, ResponsePortRedirectsButNeverWithPadding) {
  core::Server server(options(true));
  const auto a = ask(server, "198.51.100.1:3478",
                     [](MessageBuilder& b) { b.add_u32(attr::kResponsePort, 5000u << 16); });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to.client.to_string(), "192.0.2.7:5000");
  const std::vector<std::uint8_t> pad(500, 0xAA);
  const auto p =
      ask(server, "198.51.100.1:3478", [&](MessageBuilder& b) { b.add(attr::kPadding, pad); });
  ASSERT_TRUE(p);
  EXPECT_EQ(p->view().find_value(attr::kPadding)->size(), 500u);
  EXPECT_EQ(p->to.client.to_string(), "192.0.2.7:40000");
  const auto both = ask(server, "198.51.100.1:3478", [&](MessageBuilder& b) {
    b.add(attr::kPadding, pad);
    b.add_u32(attr::kResponsePort, 5000u << 16);
  });
  ASSERT_TRUE(both);
  EXPECT_EQ(both->error(), 400);
  EXPECT_EQ(both->to.client.to_string(), "192.0.2.7:40000");
  const auto bad = ask(server, "198.51.100.1:3478", [](MessageBuilder& b) {
    b.add(attr::kChangeRequest, std::vector<std::uint8_t>(2));
  });
  EXPECT_EQ(bad->error(), 400);
}

TEST(NatDiscoveryTest, WhenOffItsAttributesGet420AndNothingIsAdded) {
  core::Server server(options(false));
  for (std::uint16_t type : {attr::kChangeRequest, attr::kResponsePort, attr::kPadding}) {
    const auto a = ask(server, "198.51.100.1:3478",
                       [&](MessageBuilder& b) { b.add(type, std::vector<std::uint8_t>(4)); });
    ASSERT_TRUE(a);
    EXPECT_EQ(a->error(), 420) << type;
    EXPECT_EQ(a->to.server.to_string(), "198.51.100.1:3478");
  }
  const auto plain = ask(server, "198.51.100.1:3478", [](MessageBuilder&) {});
  EXPECT_EQ(plain->address(attr::kOtherAddress), "none");
  EXPECT_EQ(plain->address(attr::kResponseOrigin), "none");
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

TEST(NatDiscoveryTest, OtherListenersAnswerPlainBindingsAndCannotChangeAddress) {
  // RFC 5780 §6: a listener without a second address sends no OTHER-ADDRESS and answers
  // CHANGE-REQUEST (like RESPONSE-PORT and PADDING) with 420, as when discovery is off.
  core::Server server(options(true));
  auto a = ask(server, "203.0.113.9:3478", [](MessageBuilder&) {});
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error(), 0);
  EXPECT_EQ(a->to.server.to_string(), "203.0.113.9:3478");
  EXPECT_EQ(a->address(attr::kOtherAddress), "none");
  a = ask(server, "203.0.113.9:3478", [](MessageBuilder& b) { change(b, 6); });
  ASSERT_TRUE(a);
  EXPECT_EQ(a->error(), 420);
  EXPECT_EQ(a->to.server.to_string(), "203.0.113.9:3478");
}

}  // namespace
}  // namespace tern
