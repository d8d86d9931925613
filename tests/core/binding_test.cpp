// Core tests for Binding: bytes in, bytes out, no sockets.
#include <gtest/gtest.h>

#include "core/fake_outbox.hpp"
#include "tern/core/server.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern {
namespace {

using protocol::MessageBuilder;
using protocol::MessageView;
namespace attr = protocol::attr;

core::FiveTuple udp_flow() {
  core::FiveTuple f;
  f.client = protocol::TransportAddress::v4(0xC0000201, 32853);  // 192.0.2.1:32853
  f.server = protocol::TransportAddress::v4(0x7F000001, 3478);
  return f;
}

const protocol::TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                      0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

std::vector<std::uint8_t> request(std::uint16_t type, auto&& add_attributes, bool fingerprint) {
  std::vector<std::uint8_t> buf(512);
  MessageBuilder b(buf, type, kTid);
  add_attributes(b);
  if (fingerprint) b.add_fingerprint();
  buf.resize(b.finish()->size());
  return buf;
}

std::vector<std::uint8_t> binding(bool fingerprint = false) {
  return request(
      0x0001, [](MessageBuilder&) {}, fingerprint);
}

class BindingTest : public ::testing::Test {
 protected:
  void send(const std::vector<std::uint8_t>& bytes, core::FiveTuple flow = udp_flow()) {
    server.handle(flow, bytes, core::Instant{}, out);
  }
  core::Server server{core::ServerOptions{}};
  test::FakeOutbox out;
};

TEST_F(BindingTest, ReflectsClientAddressAsRfc5769Response) {
  send(binding());
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type(), 0x0101);
  EXPECT_EQ(m->transaction_id(), kTid);
  auto v = m->find_value(attr::kXorMappedAddress);
  ASSERT_TRUE(v);
  // RFC 5769 §2.2: X-Port 0xa147, X-Address 0xe112a643 for 192.0.2.1:32853.
  const std::vector<std::uint8_t> expected = {0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43};
  EXPECT_EQ(std::vector<std::uint8_t>(v->begin(), v->end()), expected);
  EXPECT_FALSE(m->find(attr::kSoftware));
  EXPECT_FALSE(m->find(attr::kFingerprint));
  EXPECT_FALSE(m->find(attr::kMappedAddress));
}

TEST_F(BindingTest, Ipv6ClientGetsIpv6Mapping) {
  core::FiveTuple f = udp_flow();
  f.client.family = protocol::Family::kIPv6;
  ASSERT_TRUE(
      protocol::TransportAddress::parse_ip("2001:db8:1234:5678:11:2233:4455:6677", f.client));
  send(binding(), f);
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes);
  auto mapped = protocol::decode_xor_address(*m->find_value(attr::kXorMappedAddress), kTid);
  ASSERT_TRUE(mapped);
  EXPECT_EQ(*mapped, f.client);
}

TEST_F(BindingTest, FingerprintOnlyWhenRequestHadOne) {
  send(binding(true));
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes);
  EXPECT_EQ(protocol::check_fingerprint(*m), protocol::Check::kValid);
  EXPECT_EQ(m->attributes().back().type, attr::kFingerprint);
}

TEST_F(BindingTest, BadFingerprintIsSilent) {
  auto req = binding(true);
  req.back() ^= 1;
  send(req);
  EXPECT_TRUE(out.sent.empty());
  EXPECT_EQ(server.stats().dropped_count(core::Drop::kMalformed), 1u);
}

TEST_F(BindingTest, SoftwareWhenConfigured) {
  core::Server s(core::ServerOptions{.software = "tern test", .rfc3489 = false});
  s.handle(udp_flow(), binding(), core::Instant{}, out);
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes);
  auto sw = m->find_value(attr::kSoftware);
  ASSERT_TRUE(sw);
  EXPECT_EQ(std::string(sw->begin(), sw->end()), "tern test");
}

TEST_F(BindingTest, UnknownComprehensionRequiredGets420) {
  const std::uint8_t v[4] = {1, 2, 3, 4};
  send(request(
      0x0001,
      [&](MessageBuilder& b) {
        b.add(0x7FFF, v);
        b.add(0x7FFE, v);
        b.add(0x7FFF, v);
      },
      true));
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes);
  EXPECT_EQ(m->type(), 0x0111);
  auto err = protocol::decode_error_code(*m->find_value(attr::kErrorCode));
  EXPECT_EQ(err->code, 420);
  auto unknown = protocol::decode_unknown_attributes(*m->find_value(attr::kUnknownAttributes));
  ASSERT_EQ(unknown->count, 2u);  // listed once each
  EXPECT_EQ(unknown->types[0], 0x7FFF);
  EXPECT_EQ(unknown->types[1], 0x7FFE);
  EXPECT_EQ(protocol::check_fingerprint(*m), protocol::Check::kValid);
}

TEST_F(BindingTest, UnknownComprehensionOptionalIgnored) {
  const std::uint8_t v[4] = {1, 2, 3, 4};
  send(request(
      0x0001, [&](MessageBuilder& b) { b.add(0x8FFF, v); }, false));
  ASSERT_EQ(out.sent.size(), 1u);
  EXPECT_EQ(MessageView::parse(out.sent[0].bytes)->type(), 0x0101);
}

TEST_F(BindingTest, IndicationsAndResponsesAreSilent) {
  send(request(
      0x0011, [](MessageBuilder&) {}, false));
  send(request(
      0x0101, [](MessageBuilder&) {}, false));
  send(request(
      0x0111, [](MessageBuilder&) {}, false));
  EXPECT_TRUE(out.sent.empty());
}

TEST_F(BindingTest, ClassicRequestOnlyWhenEnabled) {
  auto req = binding();
  req[4] = 0x01;  // break the cookie: an RFC 3489 request with a 128-bit id
  send(req);
  EXPECT_TRUE(out.sent.empty());

  core::Server classic(core::ServerOptions{.software = "x", .rfc3489 = true});
  classic.handle(udp_flow(), req, core::Instant{}, out);
  ASSERT_EQ(out.sent.size(), 1u);
  auto m = MessageView::parse(out.sent[0].bytes, {.allow_classic = true});
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->is_classic());
  EXPECT_TRUE(std::equal(req.begin() + 4, req.begin() + 20, out.sent[0].bytes.begin() + 4));
  auto mapped = protocol::decode_address(*m->find_value(attr::kMappedAddress));
  EXPECT_EQ(*mapped, udp_flow().client);
  EXPECT_FALSE(m->find(attr::kXorMappedAddress));
  EXPECT_FALSE(m->find(attr::kSoftware));
}

TEST_F(BindingTest, ClassicRequestsOverDtlsGet500) {
  // RFC 8489 §11 and RFC 7350: no RFC 3489 over DTLS. A cookie-less request gets 500 (with its
  // 128-bit id), whether RFC 3489 is on or off; a cookie-less indication gets nothing.
  auto req = binding();
  req[4] = 0x01;
  auto indication = req;
  indication[1] = 0x11;  // Binding indication
  core::FiveTuple dtls = udp_flow();
  dtls.transport = core::Transport::kDtls;
  for (const bool rfc3489 : {false, true}) {
    core::Server s(core::ServerOptions{.software = "x", .rfc3489 = rfc3489});
    out.sent.clear();
    s.handle(dtls, indication, core::Instant{}, out);
    EXPECT_TRUE(out.sent.empty());
    s.handle(dtls, req, core::Instant{}, out);
    ASSERT_EQ(out.sent.size(), 1u);
    auto m = MessageView::parse(out.sent[0].bytes, {.allow_classic = true});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->type(), 0x0111);
    EXPECT_TRUE(std::equal(req.begin() + 4, req.begin() + 20, out.sent[0].bytes.begin() + 4));
    auto code = protocol::decode_error_code(*m->find_value(attr::kErrorCode));
    ASSERT_TRUE(code);
    EXPECT_EQ(code->code, 500);
    EXPECT_EQ(out.sent[0].flow, dtls);
  }
}

TEST_F(BindingTest, NonStunFirstBytesAreSilent) {
  for (int first : {0x16, 0x40, 0x50, 0x80, 0xFF}) {
    auto req = binding();
    req[0] = static_cast<std::uint8_t>(first);
    send(req);
  }
  EXPECT_TRUE(out.sent.empty());
}

}  // namespace
}  // namespace tern
