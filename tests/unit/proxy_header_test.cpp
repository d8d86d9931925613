// PROXY protocol v1/v2 headers from bytes: what they name, how a reader takes them without
// swallowing what follows, and what is refused.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "tern/protocol/proxy_header.hpp"

namespace tern::protocol {
namespace {

using Buffer = std::vector<std::uint8_t>;

Buffer text(const std::string& s) {
  return Buffer(s.begin(), s.end());
}

Buffer v2(std::uint8_t ver_cmd, std::uint8_t family, const Buffer& body) {
  Buffer b(kProxyV2HeaderSize + body.size());
  auto at = std::copy(kProxyV2Signature.begin(), kProxyV2Signature.end(), b.begin());
  *at++ = ver_cmd;
  *at++ = family;
  *at++ = static_cast<std::uint8_t>(body.size() >> 8);
  *at++ = static_cast<std::uint8_t>(body.size());
  std::copy(body.begin(), body.end(), at);
  return b;
}

// 192.0.2.7:51000 -> 198.51.100.1:3478, then `tlvs`.
Buffer inet_body(const Buffer& tlvs = {}) {
  const std::array<std::uint8_t, 12> addresses = {192, 0, 2,    7,    198,  51,
                                                  100, 1, 0xC7, 0x38, 0x0D, 0x96};
  Buffer b(addresses.size() + tlvs.size());
  std::copy(tlvs.begin(), tlvs.end(), std::copy(addresses.begin(), addresses.end(), b.begin()));
  return b;
}

// Reads the way a connection does: exactly as many bytes as proxy_header_missing asks for.
// Returns how many bytes of `stream` were taken, or 0 when the header was refused.
std::size_t read_exactly(const Buffer& stream) {
  Buffer got;
  while (true) {
    const auto missing = proxy_header_missing(got);
    if (!missing) return 0;
    if (*missing == 0) return got.size();
    if (got.size() + *missing > stream.size()) return 0;  // the test's stream ran out
    got.insert(got.end(), stream.begin() + static_cast<std::ptrdiff_t>(got.size()),
               stream.begin() + static_cast<std::ptrdiff_t>(got.size() + *missing));
  }
}

TEST(ProxyHeaderV1, Tcp4NamesBothEnds) {
  const auto b = text("PROXY TCP4 192.0.2.7 198.51.100.1 51000 3478\r\nrest");
  const auto h = parse_proxy_header(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 1);
  EXPECT_EQ(h->size, b.size() - 4);
  EXPECT_TRUE(h->has_addresses);
  EXPECT_EQ(h->source.to_string(), "192.0.2.7:51000");
  EXPECT_EQ(h->destination.to_string(), "198.51.100.1:3478");
}

TEST(ProxyHeaderV1, Tcp6NamesBothEnds) {
  const auto h = parse_proxy_header(text("PROXY TCP6 2001:db8::7 2001:db8::1 443 5349\r\n"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->source.to_string(), "[2001:db8::7]:443");
  EXPECT_EQ(h->destination.to_string(), "[2001:db8::1]:5349");
}

TEST(ProxyHeaderV1, UnknownKeepsTheConnectionsOwnAddresses) {
  for (const char* line : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"}) {
    const auto h = parse_proxy_header(text(line));
    ASSERT_TRUE(h) << line;
    EXPECT_FALSE(h->has_addresses);
    EXPECT_EQ(h->size, std::string(line).size());
  }
}

TEST(ProxyHeaderV1, RefusesWhatBreaksTheFormat) {
  for (const char* line : {
           "PROXY TCP4 2001:db8::7 198.51.100.1 1 2\r\n",    // family and address disagree
           "PROXY TCP6 192.0.2.7 2001:db8::1 1 2\r\n",       // the same the other way
           "PROXY TCP4 192.0.2.7 198.51.100.1 65536 2\r\n",  // port out of range
           "PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n",        // a word missing
           "PROXY TCP4 192.0.2.7 198.51.100.1 1 2 3\r\n",    // a word too many
           "PROXY TCP4 192.0.2.7  198.51.100.1 1 2\r\n",     // two spaces
           "PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n",      // not a version 1 protocol
           "PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n",        // LF without CR
           "PROXY TCP4 192.0.2.7 198.51.100.1 1 2\rX",       // CR without LF
           "PROXY TCP4 0x1.0.0.1 198.51.100.1 1 2\r\n",      // not dotted decimal
           "proxy TCP4 192.0.2.7 198.51.100.1 1 2\r\n",      // the keyword is upper case
       }) {
    EXPECT_FALSE(parse_proxy_header(text(line))) << line;
  }
  auto nul = text("PROXY TCP4 192.0.2.7X 198.51.100.1 1 2\r\n");
  nul[20] = 0;  // "192.0.2.7\0": a C string would stop at the NUL and accept it
  EXPECT_FALSE(parse_proxy_header(nul));
}

TEST(ProxyHeaderV1, NoLineEndWithinTheBoundIsRefused) {
  const auto b = text("PROXY UNKNOWN " + std::string(kProxyV1MaxSize, 'x'));
  EXPECT_FALSE(proxy_header_missing(b));
  EXPECT_EQ(read_exactly(b), 0u);
}

TEST(ProxyHeaderV1, TheLineEndsWithinTheBound) {
  // 107 bytes with its CRLF is the longest line; one byte more is refused, however it ends
  // (found by fuzz_proxy_header: a CRLF straddling the bound was read past the line's end).
  const std::string head = "PROXY UNKNOWN ";
  const auto longest = text(head + std::string(kProxyV1MaxSize - head.size() - 2, 'x') + "\r\n");
  ASSERT_EQ(longest.size(), kProxyV1MaxSize);
  EXPECT_TRUE(parse_proxy_header(longest));
  const auto over = text(head + std::string(kProxyV1MaxSize - head.size() - 1, 'x') + "\r\n");
  EXPECT_FALSE(proxy_header_missing(over));
  EXPECT_FALSE(parse_proxy_header(over));
  EXPECT_EQ(read_exactly(over), 0u);
}

TEST(ProxyHeaderV1, AReaderTakesTheLineAndNothingAfterIt) {
  const std::string line = "PROXY TCP4 192.0.2.7 198.51.100.1 51000 3478\r\n";
  EXPECT_EQ(read_exactly(text(line + "\x16\x03\x01")), line.size());
  EXPECT_EQ(read_exactly(text("PROXY UNKNOWN\r\n\x16")), 15u);
  EXPECT_EQ(*proxy_header_missing({}), kProxyV1MinSize);
}

TEST(ProxyHeaderV2, ProxyCommandOverTcp4) {
  const auto b = v2(0x21, 0x11, inet_body());
  const auto h = parse_proxy_header(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->version, 2);
  EXPECT_EQ(h->size, 28u);
  EXPECT_TRUE(h->has_addresses);
  EXPECT_FALSE(h->datagram);
  EXPECT_EQ(h->source.to_string(), "192.0.2.7:51000");
  EXPECT_EQ(h->destination.to_string(), "198.51.100.1:3478");
}

TEST(ProxyHeaderV2, Tcp6AndUdp) {
  Buffer body(36, 0);
  body[0] = 0x20, body[1] = 0x01, body[2] = 0x0d, body[3] = 0xb8, body[15] = 7;
  body[16] = 0x20, body[17] = 0x01, body[18] = 0x0d, body[19] = 0xb8, body[31] = 1;
  body[32] = 0x01, body[33] = 0xBB, body[34] = 0x0D, body[35] = 0x96;
  const auto h = parse_proxy_header(v2(0x21, 0x22, body));
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->datagram);
  EXPECT_EQ(h->source.to_string(), "[2001:db8::7]:443");
  EXPECT_EQ(h->destination.to_string(), "[2001:db8::1]:3478");
}

TEST(ProxyHeaderV2, TlvsAreSkippedAndCounted) {
  const Buffer tlvs = {0x01, 0x00, 0x02, 'h', '2', 0x04, 0x00, 0x00};  // ALPN "h2", NOOP
  const auto b = v2(0x21, 0x11, inet_body(tlvs));
  const auto h = parse_proxy_header(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->size, b.size());
  EXPECT_EQ(h->source.to_string(), "192.0.2.7:51000");
}

TEST(ProxyHeaderV2, LocalAndAddresslessFamiliesKeepTheConnectionsOwn) {
  const auto local = parse_proxy_header(v2(0x20, 0x11, inet_body()));
  ASSERT_TRUE(local);
  EXPECT_FALSE(local->has_addresses);
  const auto empty_local = parse_proxy_header(v2(0x20, 0x00, {}));
  ASSERT_TRUE(empty_local);
  EXPECT_EQ(empty_local->size, 16u);
  const auto unspec = parse_proxy_header(v2(0x21, 0x00, {}));
  ASSERT_TRUE(unspec);
  EXPECT_FALSE(unspec->has_addresses);
  const auto unix_socket = parse_proxy_header(v2(0x21, 0x31, Buffer(216, 'a')));
  ASSERT_TRUE(unix_socket);
  EXPECT_FALSE(unix_socket->has_addresses);
}

TEST(ProxyHeaderV2, RefusesWhatBreaksTheFormat) {
  EXPECT_FALSE(parse_proxy_header(v2(0x11, 0x11, inet_body())));    // version 1 in a v2 header
  EXPECT_FALSE(parse_proxy_header(v2(0x22, 0x11, inet_body())));    // command 2
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x41, inet_body())));    // family 4
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x13, inet_body())));    // transport 3
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x11, Buffer(11, 1))));  // short address block
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x21, inet_body())));    // IPv6 needs 36 bytes
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x11, inet_body({0x01, 0x00, 0x05, 'x'}))));  // TLV
  EXPECT_FALSE(parse_proxy_header(v2(0x21, 0x11, inet_body({0x01, 0x00}))));  // half a TLV
  // Over tern's bound: refused as soon as the length is read, before the body is buffered.
  const auto big = v2(0x21, 0x11, inet_body(Buffer(kProxyMaxSize, 0)));
  EXPECT_FALSE(proxy_header_missing(std::span(big).first(kProxyV2HeaderSize)));
  // A wrong signature byte is refused as soon as it is read.
  auto wrong = v2(0x21, 0x11, inet_body());
  wrong[6] = 'x';
  EXPECT_FALSE(proxy_header_missing(std::span(wrong).first(7)));
}

TEST(ProxyHeaderV2, AReaderTakesTheHeaderAndNothingAfterIt) {
  auto stream = v2(0x21, 0x11, inet_body({0x04, 0x00, 0x01, 0x00}));
  const std::size_t header = stream.size();
  stream.insert(stream.end(), {0x16, 0x03, 0x01, 0x02, 0x00});  // a TLS ClientHello begins
  EXPECT_EQ(read_exactly(stream), header);
}

TEST(ProxyHeader, StunAndChannelDataDoNotLookLikeHeaders) {
  EXPECT_FALSE(starts_like_proxy_header(Buffer{0x00, 0x01, 0x00, 0x00, 0x21, 0x12}));
  EXPECT_FALSE(starts_like_proxy_header(Buffer{0x40, 0x00, 0x00, 0x04}));
  EXPECT_FALSE(starts_like_proxy_header(Buffer{0x16, 0x03, 0x01}));  // TLS
  EXPECT_FALSE(starts_like_proxy_header(Buffer{}));
  EXPECT_TRUE(starts_like_proxy_header(text("PROX")));
  EXPECT_TRUE(starts_like_proxy_header(Buffer{0x0D, 0x0A, 0x0D}));
  EXPECT_FALSE(proxy_header_missing(Buffer{0x00, 0x01}));
}

}  // namespace
}  // namespace tern::protocol
