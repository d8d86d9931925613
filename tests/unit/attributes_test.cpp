// Every RFC 8489/8656/6062 attribute: builder -> parse -> decode round trips against hand-written
// bytes, zero padding on send, ignored padding on receipt, and each decoder's length rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/error_code.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"
#include "vectors/vector_file.hpp"

namespace tern {
namespace {

using namespace protocol;
using Buf = std::vector<std::uint8_t>;
using boost::system::error_code;

// RFC 5769's transaction id, so the XOR vectors below are the RFC's own bytes.
const TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
const error_code kLength = make_error_code(Error::kBadAttributeLength);
const error_code kValue = make_error_code(Error::kBadAttributeValue);
const error_code kFamily = make_error_code(Error::kBadAddressFamily);

Buf hex(std::string_view text) { return tern::testing::hex_bytes(text); }

Buf text(std::string_view s) {
  return {s.begin(), s.end()};
}
Buf cat(Buf a, const Buf& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

template <class R>
error_code error_of(const R& r) {
  return r ? error_code{} : r.error();
}

// A Binding request holding only what `add` writes. The buffer starts as 0xFF garbage so that
// padding the builder failed to zero would show.
template <class Add>
Buf build(Add add) {
  Buf buf(1024, 0xFF);
  MessageBuilder b(buf, 0x0001, kTid);
  EXPECT_TRUE(add(b));
  const auto out = b.finish();
  if (!out) return {};
  buf.resize(out->size());
  return buf;
}

// The value of the message's only attribute, after checking its type, framing and zero padding.
Buf value_of(const Buf& msg, std::uint16_t type) {
  const auto m = MessageView::parse(msg);
  if (!m || m->attributes().size() != 1) {
    ADD_FAILURE() << "message does not parse to exactly one attribute";
    return {};
  }
  const Attribute a = m->attributes()[0];
  EXPECT_EQ(a.type, type);
  EXPECT_EQ(msg.size(), kHeaderSize + 4 + padded4(a.length));
  for (std::size_t i = a.offset + 4u + a.length; i < msg.size(); ++i) {
    EXPECT_EQ(msg[i], 0) << "padding byte " << i;
  }
  const Bytes v = m->value(a);
  return {v.begin(), v.end()};
}

template <class Add>
Buf encode(std::uint16_t type, Add add) {
  return value_of(build(add), type);
}

TransportAddress ip(const std::string& text, std::uint16_t port) {
  TransportAddress a;
  a.port = port;
  EXPECT_TRUE(TransportAddress::parse_ip(text, a)) << text;
  return a;
}

TEST(Attributes, PaddingIsZeroOnSend) {
  const Buf msg =
      build([](MessageBuilder& b) { return b.add_string(attr::kUsername, "evtj:h6vY"); });
  EXPECT_EQ(msg, hex("0001 0010 2112a442 b7e7a701 bc34d686 fa87dfae"
                     "0006 0009 6576746a 3a683676 59 000000"));
}

TEST(Attributes, PaddingIsIgnoredOnReceipt) {
  const Buf msg =
      hex("0001 0018 2112a442 b7e7a701 bc34d686 fa87dfae"
          "0006 0003 616263 ff"   // USERNAME "abc", padding 0xFF
          "0018 0001 80 a5a5a5"   // EVEN-PORT R=1, padding 0xA5
          "000d 0004 00000258");  // LIFETIME 600 still found after them
  const auto m = MessageView::parse(msg);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*decode_username(*m->find_value(attr::kUsername)), "abc");
  EXPECT_EQ(*decode_even_port(*m->find_value(attr::kEvenPort)), true);
  EXPECT_EQ(*decode_lifetime(*m->find_value(attr::kLifetime)), 600u);
}

TEST(Attributes, AddressIpv4AndIpv6) {
  const auto v4 = TransportAddress::v4(0xC0000201, 32853);  // 192.0.2.1:32853
  const auto v6 = ip("2001:db8::1", 3478);
  for (std::uint16_t type :
       {attr::kMappedAddress, attr::kAlternateServer, attr::kResponseOrigin, attr::kOtherAddress}) {
    const Buf a = encode(type, [&](MessageBuilder& b) { return b.add_address(type, v4); });
    EXPECT_EQ(a, hex("0001 8055 c0000201"));
    EXPECT_EQ(*decode_address(a), v4);
    const Buf b = encode(type, [&](MessageBuilder& m) { return m.add_address(type, v6); });
    EXPECT_EQ(b, hex("0002 0d96 20010db8 00000000 00000000 00000001"));
    EXPECT_EQ(*decode_address(b), v6);
  }
  EXPECT_EQ(error_of(decode_address(hex("0001 8055 c00002"))), kLength);
  EXPECT_EQ(error_of(decode_address(hex("0002 8055 c0000201"))), kLength);  // IPv6, 4-byte ip
  EXPECT_EQ(error_of(decode_address(hex("0001 8055"))), kLength);
  EXPECT_EQ(error_of(decode_address(hex("0003 8055 c0000201"))), kFamily);
}

TEST(Attributes, XorAddressIpv4AndIpv6) {  // RFC 5769 §2.2 and §2.3
  const auto v4 = TransportAddress::v4(0xC0000201, 32853);
  const auto v6 = ip("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  for (std::uint16_t type :
       {attr::kXorMappedAddress, attr::kXorPeerAddress, attr::kXorRelayedAddress}) {
    const Buf a = encode(type, [&](MessageBuilder& b) { return b.add_xor_address(type, v4); });
    EXPECT_EQ(a, hex("0001 a147 e112a643"));
    EXPECT_EQ(*decode_xor_address(a, kTid), v4);
    const Buf b = encode(type, [&](MessageBuilder& m) { return m.add_xor_address(type, v6); });
    EXPECT_EQ(b, hex("0002 a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9"));
    EXPECT_EQ(*decode_xor_address(b, kTid), v6);
  }
  EXPECT_EQ(error_of(decode_xor_address(hex("0003 a147 e112a643"), kTid)), kFamily);
  EXPECT_EQ(error_of(decode_xor_address(hex("0000 a147 e112a643"), kTid)), kFamily);
  EXPECT_EQ(error_of(decode_xor_address(hex("0001 a147 e112a643 00"), kTid)), kLength);
  EXPECT_EQ(error_of(decode_xor_address(hex("0002 a147 e112a643"), kTid)), kLength);
}

TEST(Attributes, TextAttributesAndTheirLimits) {
  using Decoder = Result<std::string_view> (*)(Bytes) noexcept;
  const struct {
    std::uint16_t type;
    Decoder decode;
    std::size_t max;
  } cases[] = {{attr::kUsername, decode_username, 763},
               {attr::kRealm, decode_realm, 763},
               {attr::kNonce, decode_nonce, 763},
               {attr::kSoftware, decode_software, 763},
               {attr::kAlternateDomain, decode_alternate_domain, 255}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.type);
    const Buf v =
        encode(c.type, [&](MessageBuilder& b) { return b.add_string(c.type, "evtj:h6vY"); });
    EXPECT_EQ(v, hex("6576746a 3a683676 59"));
    EXPECT_EQ(*c.decode(v), "evtj:h6vY");
    const std::string longest(c.max, 'x');
    const Buf w = encode(c.type, [&](MessageBuilder& b) { return b.add_string(c.type, longest); });
    EXPECT_EQ(*c.decode(w), longest);
    EXPECT_EQ(error_of(c.decode(Buf(c.max + 1, 'x'))), kLength);
    EXPECT_EQ(*c.decode({}), "");
  }
}

// Each named code carries the RFC's number and reason phrase (RFC 8489 §14.8, RFC 8656 §19,
// RFC 6062 §6.3) and survives the builder and decoder.
TEST(Attributes, NamedErrorCodes) {
  const std::vector<std::tuple<ErrorCode, std::uint16_t, std::string_view>> table = {
      {ErrorCode::kTryAlternate, 300, "Try Alternate"},
      {ErrorCode::kBadRequest, 400, "Bad Request"},
      {ErrorCode::kUnauthenticated, 401, "Unauthenticated"},
      {ErrorCode::kForbidden, 403, "Forbidden"},
      {ErrorCode::kUnknownAttribute, 420, "Unknown Attribute"},
      {ErrorCode::kAllocationMismatch, 437, "Allocation Mismatch"},
      {ErrorCode::kStaleNonce, 438, "Stale Nonce"},
      {ErrorCode::kAddressFamilyNotSupported, 440, "Address Family not Supported"},
      {ErrorCode::kWrongCredentials, 441, "Wrong Credentials"},
      {ErrorCode::kUnsupportedTransportProtocol, 442, "Unsupported Transport Protocol"},
      {ErrorCode::kPeerAddressFamilyMismatch, 443, "Peer Address Family Mismatch"},
      {ErrorCode::kConnectionAlreadyExists, 446, "Connection Already Exists"},
      {ErrorCode::kConnectionTimeoutOrFailure, 447, "Connection Timeout or Failure"},
      {ErrorCode::kAllocationQuotaReached, 486, "Allocation Quota Reached"},
      {ErrorCode::kServerError, 500, "Server Error"},
      {ErrorCode::kInsufficientCapacity, 508, "Insufficient Capacity"}};
  for (const auto& [code, number, phrase] : table) {
    EXPECT_EQ(code_number(code), number);
    EXPECT_EQ(reason_phrase(code), phrase);
    const Buf v = encode(attr::kErrorCode, [&](MessageBuilder& b) { return b.add_error_code(code); });
    const auto e = decode_error_code(v);
    ASSERT_TRUE(e) << number;
    EXPECT_EQ(e->code, number);
    EXPECT_EQ(e->reason, phrase);
  }
}

TEST(Attributes, ErrorCode) {
  const Buf v = encode(attr::kErrorCode,
                       [](MessageBuilder& b) { return b.add_error_code(401, "Unauthorized"); });
  EXPECT_EQ(v, cat(hex("0000 04 01"), text("Unauthorized")));
  const auto e = decode_error_code(v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 401);
  EXPECT_EQ(e->reason, "Unauthorized");
  for (std::uint16_t code : std::initializer_list<std::uint16_t>{300, 420, 699}) {
    const Buf w =
        encode(attr::kErrorCode, [&](MessageBuilder& b) { return b.add_error_code(code, ""); });
    EXPECT_EQ(decode_error_code(w)->code, code);
  }
  EXPECT_EQ(decode_error_code(hex("ffff fc 01"))->code, 401);         // reserved bits ignored
  EXPECT_EQ(error_of(decode_error_code(hex("0000 02 63"))), kValue);  // class 2
  EXPECT_EQ(error_of(decode_error_code(hex("0000 07 00"))), kValue);  // class 7
  EXPECT_EQ(error_of(decode_error_code(hex("0000 04 64"))), kValue);  // number 100
  EXPECT_EQ(error_of(decode_error_code(hex("0000 04"))), kLength);
  EXPECT_EQ(error_of(decode_error_code(cat(hex("0000 0401"), Buf(764, 'x')))), kLength);
}

TEST(Attributes, UnknownAttributes) {
  const std::uint16_t types[] = {0x7FFF, 0x0031, 0x8000};
  const Buf v = encode(attr::kUnknownAttributes,
                       [&](MessageBuilder& b) { return b.add_unknown_attributes(types); });
  EXPECT_EQ(v, hex("7fff 0031 8000"));
  const auto u = decode_unknown_attributes(v);
  ASSERT_TRUE(u);
  ASSERT_EQ(u->count, 3u);
  EXPECT_EQ(u->types[0], 0x7FFF);
  EXPECT_EQ(u->types[1], 0x0031);
  EXPECT_EQ(u->types[2], 0x8000);
  EXPECT_EQ(error_of(decode_unknown_attributes(hex("7fff 00"))), kLength);
  EXPECT_EQ(decode_unknown_attributes(Buf(64, 1))->count, 32u);
  EXPECT_EQ(error_of(decode_unknown_attributes(Buf(66, 1))), kLength);
}

TEST(Attributes, ChannelNumber) {
  const Buf v =
      encode(attr::kChannelNumber, [](MessageBuilder& b) { return b.add_channel_number(0x4001); });
  EXPECT_EQ(v, hex("4001 0000"));
  EXPECT_EQ(*decode_channel_number(v), 0x4001);
  for (const char* bad : {"", "4001", "4001 00", "4001 0000 00", "4001 0000 0000 0000"}) {
    EXPECT_EQ(error_of(decode_channel_number(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, LifetimeAndConnectionId) {
  const Buf v =
      encode(attr::kLifetime, [](MessageBuilder& b) { return b.add_u32(attr::kLifetime, 600); });
  EXPECT_EQ(v, hex("0000 0258"));
  EXPECT_EQ(*decode_lifetime(v), 600u);
  const Buf c = encode(attr::kConnectionId, [](MessageBuilder& b) {
    return b.add_u32(attr::kConnectionId, 0x12345678);
  });
  EXPECT_EQ(c, hex("1234 5678"));
  EXPECT_EQ(*decode_connection_id(c), 0x12345678u);
  for (const char* bad : {"", "00 0002", "0000 0258 00", "0000 0258 0000 0000"}) {
    EXPECT_EQ(error_of(decode_lifetime(hex(bad))), kLength) << bad;
    EXPECT_EQ(error_of(decode_connection_id(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, RequestedTransport) {
  const Buf udp = encode(attr::kRequestedTransport,
                         [](MessageBuilder& b) { return b.add_requested_transport(kProtocolUdp); });
  EXPECT_EQ(udp, hex("11 000000"));
  EXPECT_EQ(*decode_requested_transport(udp), 17);
  const Buf tcp = encode(attr::kRequestedTransport,  // RFC 6062
                         [](MessageBuilder& b) { return b.add_requested_transport(kProtocolTcp); });
  EXPECT_EQ(tcp, hex("06 000000"));
  EXPECT_EQ(*decode_requested_transport(tcp), 6);
  for (const char* bad : {"", "11", "11 0000", "11 000000 00"}) {
    EXPECT_EQ(error_of(decode_requested_transport(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, AddressFamilies) {
  for (std::uint16_t type : {attr::kRequestedAddressFamily, attr::kAdditionalAddressFamily}) {
    const auto decode = type == attr::kRequestedAddressFamily ? decode_requested_address_family
                                                              : decode_additional_address_family;
    const Buf v4 =
        encode(type, [&](MessageBuilder& b) { return b.add_address_family(type, Family::kIPv4); });
    EXPECT_EQ(v4, hex("01 000000"));
    EXPECT_EQ(*decode(v4), Family::kIPv4);
    const Buf v6 =
        encode(type, [&](MessageBuilder& b) { return b.add_address_family(type, Family::kIPv6); });
    EXPECT_EQ(v6, hex("02 000000"));
    EXPECT_EQ(*decode(v6), Family::kIPv6);
    EXPECT_EQ(error_of(decode(hex("03 000000"))), kFamily);
    EXPECT_EQ(error_of(decode(hex("00 000000"))), kFamily);
    EXPECT_EQ(error_of(decode(hex("01"))), kLength);
    EXPECT_EQ(error_of(decode(hex("01 000000 00000000"))), kLength);
  }
}

TEST(Attributes, AddressErrorCode) {  // RFC 8656 §18.14
  const Buf v = encode(attr::kAddressErrorCode, [](MessageBuilder& b) {
    return b.add_address_error_code(Family::kIPv6, 440, "Address Family not Supported");
  });
  EXPECT_EQ(v, cat(hex("02 00 04 28"), text("Address Family not Supported")));
  const auto e = decode_address_error_code(v);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->family, Family::kIPv6);
  EXPECT_EQ(e->code, 440);
  EXPECT_EQ(e->reason, "Address Family not Supported");
  EXPECT_EQ(error_of(decode_address_error_code(hex("03 00 04 28"))), kFamily);
  EXPECT_EQ(error_of(decode_address_error_code(hex("01 00 02 28"))), kValue);
  EXPECT_EQ(error_of(decode_address_error_code(hex("01 00 04"))), kLength);
}

TEST(Attributes, EvenPort) {
  const Buf r = encode(attr::kEvenPort, [](MessageBuilder& b) { return b.add_even_port(true); });
  EXPECT_EQ(r, hex("80"));
  EXPECT_EQ(*decode_even_port(r), true);
  const Buf n = encode(attr::kEvenPort, [](MessageBuilder& b) { return b.add_even_port(false); });
  EXPECT_EQ(n, hex("00"));
  EXPECT_EQ(*decode_even_port(n), false);
  EXPECT_EQ(*decode_even_port(hex("7f")), false);  // only the R bit counts
  for (const char* bad : {"", "8000", "80000000"}) {
    EXPECT_EQ(error_of(decode_even_port(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, ReservationTokenAndUserhash) {
  const Buf token = hex("0102030405060708");
  EXPECT_EQ(encode(attr::kReservationToken,
                   [&](MessageBuilder& b) { return b.add(attr::kReservationToken, token); }),
            token);
  const auto t = decode_reservation_token(token);
  ASSERT_TRUE(t);
  EXPECT_TRUE(std::equal(t->begin(), t->end(), token.begin(), token.end()));
  for (std::size_t n : {0, 4, 7, 9, 16}) {
    EXPECT_EQ(error_of(decode_reservation_token(Buf(n, 1))), kLength) << n;
  }
  Buf hash(32);
  for (std::size_t i = 0; i < hash.size(); ++i) hash[i] = static_cast<std::uint8_t>(0xA0 + i);
  EXPECT_EQ(
      encode(attr::kUserhash, [&](MessageBuilder& b) { return b.add(attr::kUserhash, hash); }),
      hash);
  const auto h = decode_userhash(hash);
  ASSERT_TRUE(h);
  EXPECT_TRUE(std::equal(h->begin(), h->end(), hash.begin(), hash.end()));
  for (std::size_t n : {0, 20, 31, 33, 64}) {
    EXPECT_EQ(error_of(decode_userhash(Buf(n, 1))), kLength) << n;
  }
}

TEST(Attributes, DontFragmentAndData) {
  const Buf df = build([](MessageBuilder& b) { return b.add(attr::kDontFragment, {}); });
  EXPECT_EQ(df, hex("0001 0004 2112a442 b7e7a701 bc34d686 fa87dfae 001a 0000"));
  EXPECT_EQ(*decode_dont_fragment(value_of(df, attr::kDontFragment)), true);
  EXPECT_EQ(error_of(decode_dont_fragment(hex("00"))), kLength);
  EXPECT_EQ(error_of(decode_dont_fragment(hex("00000000"))), kLength);

  const Buf payload = hex("0102030405");
  const Buf v = encode(attr::kData, [&](MessageBuilder& b) { return b.add(attr::kData, payload); });
  EXPECT_EQ(v, payload);
  const auto d = decode_data(v);
  EXPECT_EQ(Buf(d->begin(), d->end()), payload);
  EXPECT_TRUE(decode_data(encode(attr::kData, [](MessageBuilder& b) {
                return b.add(attr::kData, {});
              }))->empty());
}

TEST(Attributes, Icmp) {  // RFC 8656 §18.13
  const Buf v = encode(attr::kIcmp, [](MessageBuilder& b) { return b.add_icmp({3, 4, 1400}); });
  EXPECT_EQ(v, hex("0000 03 04 00000578"));
  const auto i = decode_icmp(v);
  ASSERT_TRUE(i);
  EXPECT_EQ(i->type, 3);
  EXPECT_EQ(i->code, 4);
  EXPECT_EQ(i->error_data, 1400u);
  for (const char* bad : {"", "0000 0304", "0000 0304 000005", "0000 0304 00000578 00"}) {
    EXPECT_EQ(error_of(decode_icmp(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, PasswordAlgorithm) {
  const Buf sha = encode(attr::kPasswordAlgorithm,
                         [](MessageBuilder& b) { return b.add_password_algorithm(0x0002); });
  EXPECT_EQ(sha, hex("0002 0000"));
  EXPECT_EQ(decode_password_algorithm(sha)->algorithm, 0x0002);
  EXPECT_TRUE(decode_password_algorithm(sha)->parameters.empty());
  const Buf params = hex("aabb");
  const Buf p = encode(attr::kPasswordAlgorithm,
                       [&](MessageBuilder& b) { return b.add_password_algorithm(0x0001, params); });
  EXPECT_EQ(p, hex("0001 0002 aabb"));
  const auto a = decode_password_algorithm(p);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->algorithm, 0x0001);
  EXPECT_EQ(Buf(a->parameters.begin(), a->parameters.end()), params);
  // The parameters' own padding counted in the value is accepted and ignored (RFC 8489 §14.12).
  EXPECT_EQ(decode_password_algorithm(hex("0001 0002 aabb ffff"))->parameters.size(), 2u);
  for (const char* bad :
       {"", "0002 00", "0002 0003 aabb", "0002 0000 00000000", "0001 0002 aabb ffff 00"}) {
    EXPECT_EQ(error_of(decode_password_algorithm(hex(bad))), kLength) << bad;
  }
}

TEST(Attributes, PasswordAlgorithms) {
  const Buf params = hex("aabbcc");
  const PasswordAlgorithmValue items[] = {{0x0001, params}, {0x0002, {}}};
  const Buf v = encode(attr::kPasswordAlgorithms,
                       [&](MessageBuilder& b) { return b.add_password_algorithms(items); });
  EXPECT_EQ(v, hex("0001 0003 aabbcc 00 0002 0000"));
  const auto list = decode_password_algorithms(v);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->count, 2u);
  EXPECT_EQ(list->items[0].algorithm, 0x0001);
  EXPECT_EQ(Buf(list->items[0].parameters.begin(), list->items[0].parameters.end()), params);
  EXPECT_EQ(list->items[1].algorithm, 0x0002);
  EXPECT_TRUE(list->items[1].parameters.empty());
  EXPECT_EQ(decode_password_algorithms(Buf(32, 0))->count, 8u);
  const char* bad[] = {"",                  // empty list
                       "0001 00",           // truncated item header
                       "0001 0003 aabbcc",  // parameters without their padding
                       "0001 0004 aabb",    // parameters past the end
                       "0001 0000 0002"};   // trailing half item
  for (const char* b : bad) EXPECT_EQ(error_of(decode_password_algorithms(hex(b))), kLength) << b;
  EXPECT_EQ(error_of(decode_password_algorithms(Buf(36, 0))), kLength);  // nine items
}

// The largest message (20 + 0xFFFC bytes) puts its last attributes past offset 0xFFFF.
TEST(Attributes, OffsetsBeyond64KiB) {
  Buf buf(kHeaderSize + 0xFFFC);
  MessageBuilder b(buf, 0x0001, kTid);
  b.add(attr::kData, Buf(65512, 0));  // the next attribute starts at offset 65536
  b.add_u32(attr::kLifetime, 600);
  b.add_fingerprint();
  const auto out = b.finish();
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), buf.size());
  const auto m = MessageView::parse(*out);
  ASSERT_TRUE(m) << m.error().message();
  const auto lifetime = m->find(attr::kLifetime);
  ASSERT_TRUE(lifetime);
  EXPECT_EQ(lifetime->offset, 65536u);
  EXPECT_EQ(*decode_lifetime(m->value(*lifetime)), 600u);
  EXPECT_EQ(check_fingerprint(*m), Check::kValid);
}

}  // namespace
}  // namespace tern
