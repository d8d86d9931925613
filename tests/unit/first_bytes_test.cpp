// classify_stream and scan_client_hello, against ClientHellos OpenSSL writes and hand-broken ones.
#include "tern/protocol/first_bytes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "unit/tls_hello.hpp"

namespace tern::protocol {
namespace {

using Bytes = std::vector<std::uint8_t>;
using test::client_hello;

Bytes bytes_of(std::string_view s) {
  return Bytes(s.begin(), s.end());
}

TEST(ClassifyStream, TellsTlsTurnAndHttpApart) {
  EXPECT_EQ(classify_stream({}), StreamKind::kUnknown);
  EXPECT_EQ(classify_stream(client_hello({}, nullptr)), StreamKind::kTls);
  const Bytes binding = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  EXPECT_EQ(classify_stream(binding), StreamKind::kTurn);
  EXPECT_EQ(classify_stream(bytes_of("GET / HTTP/1.1\r\n")), StreamKind::kHttp);
  EXPECT_EQ(classify_stream(bytes_of("OPTIONS * HTTP/1.1\r\n")), StreamKind::kHttp);
  EXPECT_EQ(classify_stream(bytes_of("GE")), StreamKind::kUnknown);
  EXPECT_EQ(classify_stream(bytes_of("DELET")), StreamKind::kUnknown);
  EXPECT_EQ(classify_stream(bytes_of("GEX ")), StreamKind::kOther);
  EXPECT_EQ(classify_stream(bytes_of("get / HTTP/1.1")), StreamKind::kOther);
  EXPECT_EQ(classify_stream(Bytes{0x16}), StreamKind::kUnknown);
  EXPECT_EQ(classify_stream(Bytes{0x16, 0x02}), StreamKind::kOther);
  EXPECT_EQ(classify_stream(Bytes{0x40, 0x00, 0x00, 0x04}), StreamKind::kOther);  // ChannelData
}

TEST(ScanClientHello, ReadsAlpnAndServerNameFromOpenSslsHello) {
  const Bytes hello = client_hello({"stun.turn", "http/1.1"}, "turn.example.org");
  const auto scan = scan_client_hello(hello);
  ASSERT_EQ(scan.status, ClientHelloScan::Status::kComplete);
  EXPECT_EQ(scan.alpn, (std::vector<std::string>{"stun.turn", "http/1.1"}));
  EXPECT_EQ(scan.server_name, "turn.example.org");
  const auto bare = scan_client_hello(client_hello({}, nullptr));
  ASSERT_EQ(bare.status, ClientHelloScan::Status::kComplete);
  EXPECT_TRUE(bare.alpn.empty());
  EXPECT_TRUE(bare.server_name.empty());
}

TEST(ScanClientHello, EveryPrefixAsksForMoreAndNeverTooMuch) {
  const Bytes hello = client_hello({"h2", "http/1.1"}, "example.org");
  for (std::size_t n = 0; n < hello.size(); ++n) {
    const auto scan = scan_client_hello(std::span(hello).first(n));
    ASSERT_EQ(scan.status, ClientHelloScan::Status::kNeedMore) << n;
    EXPECT_GT(scan.needed, n);
    EXPECT_LE(scan.needed, hello.size());
  }
}

TEST(ScanClientHello, HandshakeSplitOverTwoRecords) {
  const Bytes hello = client_hello({"stun.turn"}, nullptr);
  const Bytes message(hello.begin() + 5, hello.end());  // one record in OpenSSL's flight
  ASSERT_EQ(hello.size(), 5 + ((std::size_t{hello[3]} << 8) | hello[4]));
  const std::size_t cut = 7;  // inside the handshake header's length and the body
  Bytes split;
  for (const auto& [from, to] : {std::pair{std::size_t{0}, cut}, {cut, message.size()}}) {
    split.insert(split.end(), {0x16, 0x03, 0x01, static_cast<std::uint8_t>((to - from) >> 8),
                               static_cast<std::uint8_t>(to - from)});
    split.insert(split.end(), message.begin() + static_cast<std::ptrdiff_t>(from),
                 message.begin() + static_cast<std::ptrdiff_t>(to));
  }
  const auto scan = scan_client_hello(split);
  ASSERT_EQ(scan.status, ClientHelloScan::Status::kComplete);
  EXPECT_EQ(scan.alpn, std::vector<std::string>{"stun.turn"});
  EXPECT_EQ(scan_client_hello(std::span(split).first(5 + cut)).needed, 5 + cut + 5);
}

TEST(ScanClientHello, MalformedOnesAreRefused) {
  const Bytes hello = client_hello({"stun.turn"}, "a.example");
  auto broken = [&](std::size_t index, std::uint8_t value) {
    Bytes b = hello;
    b[index] = value;
    return scan_client_hello(b).status;
  };
  EXPECT_EQ(broken(0, 23), ClientHelloScan::Status::kMalformed);  // application data record
  EXPECT_EQ(broken(1, 2), ClientHelloScan::Status::kMalformed);   // not TLS
  EXPECT_EQ(broken(5, 2), ClientHelloScan::Status::kMalformed);   // a ServerHello
  // The ALPN extension's list length one too long: it overruns the extension.
  const Bytes name = bytes_of("\x09stun.turn");
  auto at = std::search(hello.begin(), hello.end(), name.begin(), name.end());
  ASSERT_NE(at, hello.end());
  const auto list = static_cast<std::size_t>(at - hello.begin()) - 2;  // the list's length
  EXPECT_EQ(broken(list + 1, static_cast<std::uint8_t>(hello[list + 1] + 1)),
            ClientHelloScan::Status::kMalformed);
  EXPECT_EQ(broken(list + 2, 0), ClientHelloScan::Status::kMalformed);  // empty protocol name
  const Bytes huge = {0x16, 0x03, 0x01, 0x40, 0x01};                    // a record over 2^14 bytes
  EXPECT_EQ(scan_client_hello(huge).status, ClientHelloScan::Status::kMalformed);
  const Bytes long_message = {0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00};
  EXPECT_EQ(scan_client_hello(long_message).status, ClientHelloScan::Status::kMalformed);
}

}  // namespace
}  // namespace tern::protocol
