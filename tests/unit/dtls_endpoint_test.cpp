// DtlsEndpoint against an in-memory OpenSSL DTLS client: the stateless cookie exchange, the
// handshake, records both ways, and the timeouts.
#include "net/dtls_endpoint.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "net/tls.hpp"
#include "unit/dtls_client.hpp"

namespace tern::net {
namespace {

using Bytes = test::Bytes;
using test::Client;
using namespace std::chrono_literals;

const TlsFiles& files() {
  static const TlsFiles f = [] {
    const auto dir = std::filesystem::temp_directory_path() / "tern-dtls-endpoint-test";
    return ensure_self_signed(dir.string());
  }();
  return f;
}

protocol::TransportAddress address(std::uint16_t port) {
  return protocol::TransportAddress::v4(0x7F000001, port);
}

struct DtlsEndpointTest : ::testing::Test {
  DtlsEndpointTest()
      : endpoint(address(5349), DtlsContext::make(files()), hooks(),
                 StreamTimeouts{std::chrono::seconds(60), std::chrono::seconds(5)}) {}

  DtlsEndpoint::Hooks hooks() {
    DtlsEndpoint::Hooks h;
    h.send = [this](const protocol::TransportAddress& to, std::span<const std::uint8_t> b) {
      to_client.emplace_back(b.begin(), b.end());
      EXPECT_EQ(to, client_address);
    };
    h.deliver = [this](const core::FiveTuple& flow, std::span<const std::uint8_t> b) {
      EXPECT_EQ(flow.transport, core::Transport::kDtls);
      delivered.emplace_back(b.begin(), b.end());
    };
    h.admit = [this](const core::FiveTuple&) {
      ++admitted;
      return admit;
    };
    h.closed = [this](const core::FiveTuple&, bool established) { closed.push_back(established); };
    h.keep_idle = [this](const core::FiveTuple&) { return keep; };
    return h;
  }

  // Moves datagrams both ways until neither side has any (bounded).
  void pump(Client& c) {
    for (int round = 0; round < 20 && (!c.out.empty() || !to_client.empty()); ++round) {
      while (!c.out.empty()) {
        const Bytes d = c.out.front();
        c.out.pop_front();
        endpoint.receive(client_address, d, now);
      }
      while (!to_client.empty()) {
        const Bytes d = to_client.front();
        to_client.pop_front();
        c.give(d);
      }
    }
  }

  void connect(Client& c) {
    SSL_do_handshake(c.ssl);
    pump(c);
    ASSERT_EQ(SSL_is_init_finished(c.ssl), 1);
    ASSERT_EQ(endpoint.established(), 1u);
  }

  protocol::TransportAddress client_address = address(40000);
  std::deque<Bytes> to_client;
  std::vector<Bytes> delivered;
  std::vector<bool> closed;
  int admitted = 0;
  bool admit = true;
  bool keep = false;
  DtlsEndpoint::Clock::time_point now = DtlsEndpoint::Clock::now();
  DtlsEndpoint endpoint;  // last: its destructor still calls the hooks, which use the above
};

TEST_F(DtlsEndpointTest, ClientHelloWithoutCookieGetsASmallerHelloVerifyAndLeavesNoState) {
  Client c;
  SSL_do_handshake(c.ssl);
  ASSERT_EQ(c.out.size(), 1u);
  const Bytes hello = c.out.front();
  ASSERT_TRUE(is_client_hello(hello));
  for (std::uint16_t port = 1000; port < 1100; ++port) {
    client_address = address(port);
    endpoint.receive(client_address, hello, now);
  }
  ASSERT_EQ(to_client.size(), 100u);
  for (const auto& reply : to_client) {
    EXPECT_LE(reply.size(), hello.size());
    EXPECT_EQ(reply.size(), kHelloVerifySize);
    EXPECT_EQ(reply[0], 22);  // handshake record
    EXPECT_EQ(reply[13], 3);  // hello_verify_request
  }
  EXPECT_EQ(endpoint.associations(), 0u);
  EXPECT_EQ(admitted, 0);
  EXPECT_EQ(endpoint.stats().hello_verify, 100u);
}

TEST_F(DtlsEndpointTest, ClientHelloTooSmallForTheAnswerGetsNothing) {
  Client c;
  SSL_do_handshake(c.ssl);
  Bytes hello = c.out.front();
  hello.resize(kHelloVerifySize - 1);
  hello[11] = 0;
  hello[12] = static_cast<std::uint8_t>(hello.size() - kDtlsRecordHeader);
  endpoint.receive(client_address, hello, now);
  EXPECT_TRUE(to_client.empty());
  EXPECT_EQ(endpoint.associations(), 0u);
}

TEST_F(DtlsEndpointTest, CookieMadeForAnotherPortIsRefused) {
  Client c;
  SSL_do_handshake(c.ssl);
  client_address = address(1111);
  endpoint.receive(client_address, c.out.front(), now);  // the cookie names port 1111
  c.out.clear();
  client_address = address(40000);
  ASSERT_EQ(to_client.size(), 1u);
  c.give(to_client.front());  // the client answers with the cookie, from port 40000
  to_client.clear();
  ASSERT_EQ(c.out.size(), 1u);
  endpoint.receive(client_address, c.out.front(), now);
  EXPECT_EQ(to_client.size(), 1u);  // another HelloVerifyRequest, nothing kept
  EXPECT_EQ(to_client.front()[13], 3);
  EXPECT_EQ(endpoint.associations(), 0u);
  EXPECT_EQ(admitted, 0);
}

TEST_F(DtlsEndpointTest, HandshakeThenRecordsBothWays) {
  Client c;
  connect(c);
  EXPECT_EQ(admitted, 1);
  const std::string ping = "binding request bytes";
  ASSERT_EQ(SSL_write(c.ssl, ping.data(), static_cast<int>(ping.size())),
            static_cast<int>(ping.size()));
  pump(c);
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(std::string(delivered[0].begin(), delivered[0].end()), ping);
  const std::string pong = "binding success bytes";
  ASSERT_TRUE(endpoint.seal(
      client_address, std::span(reinterpret_cast<const std::uint8_t*>(pong.data()), pong.size())));
  ASSERT_EQ(to_client.size(), 1u);
  const Bytes record = to_client.front();
  to_client.clear();
  c.io.in = record;
  EXPECT_EQ(c.read(), pong);
  EXPECT_FALSE(endpoint.seal(address(1), std::span(delivered[0])));  // no such association
}

TEST_F(DtlsEndpointTest, RefusedByAdmitKeepsNothing) {
  admit = false;
  Client c;
  SSL_do_handshake(c.ssl);
  pump(c);
  EXPECT_EQ(admitted, 1);
  EXPECT_EQ(endpoint.associations(), 0u);
  EXPECT_EQ(endpoint.stats().refused, 1u);
  EXPECT_NE(SSL_is_init_finished(c.ssl), 1);
}

TEST_F(DtlsEndpointTest, UnfinishedHandshakeEndsAtItsTimeout) {
  Client c;
  SSL_do_handshake(c.ssl);
  // Cookie exchange and the server's first flight, but the client never answers it.
  endpoint.receive(client_address, c.out.front(), now);
  c.out.clear();
  c.give(to_client.front());
  to_client.clear();
  endpoint.receive(client_address, c.out.front(), now);
  ASSERT_EQ(endpoint.associations(), 1u);
  endpoint.tick(now + 4s);
  EXPECT_EQ(endpoint.associations(), 1u);
  endpoint.tick(now + 5s);
  EXPECT_EQ(endpoint.associations(), 0u);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_FALSE(closed[0]);
}

TEST_F(DtlsEndpointTest, IdleAssociationEndsUnlessItCarriesAnAllocation) {
  Client c;
  connect(c);
  keep = true;
  endpoint.tick(now + 61s);
  EXPECT_EQ(endpoint.established(), 1u);
  keep = false;
  endpoint.tick(now + 100s);
  EXPECT_EQ(endpoint.established(), 1u);  // kept at 61 s: idle again only from then
  endpoint.tick(now + 122s);
  EXPECT_EQ(endpoint.associations(), 0u);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0]);
  ASSERT_FALSE(to_client.empty());  // our close_notify
}

TEST_F(DtlsEndpointTest, CloseNotifyFromTheClientEndsTheAssociation) {
  Client c;
  connect(c);
  SSL_shutdown(c.ssl);
  pump(c);
  EXPECT_EQ(endpoint.associations(), 0u);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_TRUE(closed[0]);
}

TEST_F(DtlsEndpointTest, ClientThatStartsOverReplacesItsAssociationOnlyWithAGoodCookie) {
  Client first;
  connect(first);
  Client second;  // same address and port, a new handshake
  SSL_do_handshake(second.ssl);
  endpoint.receive(client_address, second.out.front(), now);
  second.out.clear();
  EXPECT_EQ(endpoint.established(), 1u);  // a hello without a cookie changes nothing
  EXPECT_TRUE(closed.empty());
  to_client.clear();
  Client third;
  connect(third);
  ASSERT_EQ(closed.size(), 1u);  // the first association ended when the third's handshake did
  EXPECT_TRUE(closed[0]);
  EXPECT_EQ(endpoint.associations(), 1u);
  const std::string text = "after the restart";
  ASSERT_EQ(SSL_write(third.ssl, text.data(), static_cast<int>(text.size())),
            static_cast<int>(text.size()));
  pump(third);
  ASSERT_FALSE(delivered.empty());
  EXPECT_EQ(std::string(delivered.back().begin(), delivered.back().end()), text);
}

TEST_F(DtlsEndpointTest, ReplayedHelloWithAGoodCookieDoesNotEndTheAssociation) {
  Client first;
  connect(first);
  // Someone repeats a ClientHello with a valid cookie from the client's address (or a client
  // restarts and gives up): a new handshake starts beside the association, which stays.
  Client replay;
  SSL_do_handshake(replay.ssl);
  endpoint.receive(client_address, replay.out.front(), now);
  replay.out.clear();
  replay.give(to_client.front());
  to_client.clear();
  ASSERT_EQ(replay.out.size(), 1u);
  endpoint.receive(client_address, replay.out.front(), now);  // good cookie
  EXPECT_FALSE(to_client.empty());                            // the new ServerHello flight
  to_client.clear();
  EXPECT_EQ(endpoint.established(), 1u);
  EXPECT_TRUE(closed.empty());
  const std::string text = "still here";
  ASSERT_EQ(SSL_write(first.ssl, text.data(), static_cast<int>(text.size())),
            static_cast<int>(text.size()));
  pump(first);
  ASSERT_EQ(delivered.size(), 1u);
  endpoint.tick(now + 6s);  // the new handshake is dropped at its timeout, the old one stays
  EXPECT_EQ(endpoint.established(), 1u);
  EXPECT_TRUE(closed.empty());
  EXPECT_TRUE(endpoint.seal(client_address, std::span(delivered[0])));
}

TEST_F(DtlsEndpointTest, DatagramsThatAreNoClientHelloFromUnknownClientsAreDropped) {
  const Bytes junk = {0x17, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
  endpoint.receive(client_address, junk, now);
  const Bytes stun = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1,  2,
                      3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
  endpoint.receive(client_address, stun, now);
  EXPECT_TRUE(to_client.empty());
  EXPECT_EQ(endpoint.stats().dropped, 2u);
}

TEST(DtlsCookies, VerifyInTheirWindowAndTheNextForTheSameAddressOnly) {
  std::array<std::uint8_t, 32> secret{};
  secret[0] = 7;
  const DtlsCookies cookies(secret);
  const auto a = address(5000);
  const auto c = cookies.make(a, 6000);
  EXPECT_TRUE(cookies.verify(a, c, 6000));
  EXPECT_TRUE(cookies.verify(a, c, 6059 + 60));  // the next window
  EXPECT_FALSE(cookies.verify(a, c, 6000 + 120));
  EXPECT_FALSE(cookies.verify(address(5001), c, 6000));
  auto forged = c;
  forged[3] ^= 1;
  EXPECT_FALSE(cookies.verify(a, forged, 6000));
  EXPECT_FALSE(cookies.verify(a, std::span(c).first(15), 6000));
  EXPECT_FALSE(DtlsCookies().verify(a, c, 6000));  // another secret
}

TEST(DtlsClientHello, RecognisedOnlyAsAnEpochZeroHandshakeRecordWithAClientHello) {
  Bytes h(60, 0);
  h[0] = 22;
  h[1] = 0xFE;
  h[2] = 0xFD;
  h[12] = 47;  // record length
  h[13] = 1;   // client_hello
  EXPECT_TRUE(is_client_hello(h));
  for (const auto& [index, value] :
       std::vector<std::pair<int, int>>{{0, 23}, {1, 0x03}, {4, 1}, {13, 2}, {12, 48}, {12, 5}}) {
    Bytes bad = h;
    bad[index] = static_cast<std::uint8_t>(value);
    EXPECT_FALSE(is_client_hello(bad)) << index;
  }
  EXPECT_FALSE(is_client_hello(std::span(h).first(24)));
}

}  // namespace
}  // namespace tern::net
