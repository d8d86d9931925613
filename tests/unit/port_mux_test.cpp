// decide_route: which way a shared port sends a connection, from its first bytes.
#include <gtest/gtest.h>

#include <string_view>

#include "net/port_mux.hpp"
#include "unit/tls_hello.hpp"

namespace tern::net {
namespace {

using test::client_hello;

std::vector<std::uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

MuxRoute route_of(const std::vector<std::uint8_t>& first) {
  const auto d = decide_route(first);
  EXPECT_FALSE(d.need_more);
  EXPECT_FALSE(d.refused);
  return d.route;
}

TEST(PortMux, TlsGoesToTurnUnlessItAsksForTheWebOnly) {
  // No ALPN at all: TURN or HTTPS, told apart by the first bytes after the handshake.
  EXPECT_EQ(route_of(client_hello({}, "turn.example.org")), MuxRoute::kTls);
  EXPECT_EQ(route_of(client_hello({}, nullptr)), MuxRoute::kTls);
  EXPECT_EQ(route_of(client_hello({"stun.turn"}, nullptr)), MuxRoute::kTurnTls);
  EXPECT_EQ(route_of(client_hello({"h2", "stun.turn", "http/1.1"}, nullptr)), MuxRoute::kTurnTls);
  EXPECT_EQ(route_of(client_hello({"h2", "http/1.1"}, "a.example")), MuxRoute::kHttps);
  EXPECT_EQ(route_of(client_hello({"http/1.1"}, nullptr)), MuxRoute::kHttps);
  EXPECT_EQ(route_of(client_hello({"acme-tls/1"}, nullptr)), MuxRoute::kTurnTls);
}

TEST(PortMux, PlainBytesGoToTurnOrHttp) {
  EXPECT_EQ(route_of({0x00, 0x03, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42}), MuxRoute::kTurnTcp);
  EXPECT_EQ(route_of(bytes_of("GET /?room=a HTTP/1.1\r\n")), MuxRoute::kHttp);
}

TEST(PortMux, WaitsForWholeHellosAndRefusesTheRest) {
  const auto hello = client_hello({"http/1.1"}, nullptr);
  EXPECT_TRUE(decide_route(std::span(hello).first(hello.size() - 1)).need_more);
  EXPECT_TRUE(decide_route({}).need_more);
  EXPECT_TRUE(decide_route(bytes_of("GE")).need_more);
  EXPECT_TRUE(decide_route(bytes_of("SSH-2.0-OpenSSH\r\n")).refused);
  EXPECT_TRUE(decide_route(std::vector<std::uint8_t>{0x16, 0x03, 0x01, 0x00, 0x04, 2, 0, 0, 0})
                  .refused);  // a handshake record that is no ClientHello
}

}  // namespace
}  // namespace tern::net
