// RFC 7635 third-party authorization in the core: THIRD-PARTY-AUTHORIZATION in the 401, access
// tokens opened by key id, lifetimes, the mac_key as the session key (whole or, as coturn's
// clients sign, its first 16 bytes), new tokens on Refresh, and 420 when tokens are off.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

constexpr std::string_view kServerName = "turn.example.org";
// base64 of "01234567890123456789012345678901" and of "1234567890123456".
const std::vector<auth::OAuthKeyring::Entry> kKeys = {
    {"north", "A256GCM", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="},
    {"union", "A128GCM", "MTIzNDU2Nzg5MDEyMzQ1Ng=="}};

std::shared_ptr<const auth::OAuthKeyring> keyring() {
  auto built = auth::OAuthKeyring::build(std::string(kServerName), kKeys);
  EXPECT_TRUE(built.keyring);
  return std::make_shared<const auth::OAuthKeyring>(std::move(*built.keyring));
}

HarnessConfig with_oauth() {
  HarnessConfig c;
  c.oauth = keyring();
  return c;
}

// What an authorization server hands a client: a token and the mac_key inside it.
struct Issued {
  std::vector<std::uint8_t> token;
  std::vector<std::uint8_t> mac_key;
};

Issued issue(const Harness& h, std::string_view kid, std::chrono::seconds age,
             std::uint32_t lifetime = 300, std::string_view server_name = kServerName) {
  Issued out;
  out.mac_key = bytes("twenty-byte-mac-key!");
  if (kid == "south") out.mac_key[0] ^= 1;
  const auth::AccessToken t{out.mac_key, auth::AccessToken::timestamp_of(h.clock.now.wall - age),
                            lifetime};
  const auto ring = keyring();
  const auth::OAuthKey* key = ring->find(kid == "south" ? "north" : kid);
  const std::array<std::uint8_t, auth::kTokenNonceSize> nonce = {1, 2, 3, 4,  5,  6,
                                                                 7, 8, 9, 10, 11, 12};
  out.token = auth::seal_access_token(t, *key, server_name, nonce);
  return out;
}

// A request carrying ACCESS-TOKEN (when given), USERNAME = kid, REALM, NONCE, signed with `mac`.
Reply token_request(TurnClient& c, Method method, std::string_view kid, const Issued* issued,
                    std::span<const std::uint8_t> mac, const AddAttributes& add = {}) {
  return c.send(c.build(
      method, MessageClass::kRequest, c.next_tid(),
      [&](MessageBuilder& b) {
        if (add) add(b);
        if (issued != nullptr) b.add(attr::kAccessToken, issued->token);
        b.add_string(attr::kUsername, kid);
        b.add_string(attr::kRealm, kRealm);
        b.add_string(attr::kNonce, c.nonce());
        b.add_message_integrity(mac);
      },
      false));
}

Reply allocate(TurnClient& c, std::string_view kid, const Issued& issued,
               std::span<const std::uint8_t> mac, std::uint32_t lifetime = 600) {
  return token_request(c, Method::kAllocate, kid, &issued, mac, [&](MessageBuilder& b) {
    b.add_requested_transport(protocol::kProtocolUdp);
    b.add_u32(attr::kLifetime, lifetime);
  });
}

bool signed_with(const Reply& r, std::span<const std::uint8_t> key) {
  auto m = r.view();
  return m && protocol::check_message_integrity(*m, key) == protocol::Check::kValid;
}

TEST(OAuthTest, TheChallengeNamesTheServerOnlyWhenTokensAreOn) {
  Harness on(with_oauth());
  TurnClient a(on, flow("192.0.2.50", 40000));
  EXPECT_EQ(a.challenge().text(attr::kThirdPartyAuthorization), kServerName);
  Harness off;
  TurnClient b(off, flow("192.0.2.50", 40000));
  EXPECT_FALSE(b.challenge().has(attr::kThirdPartyAuthorization));
}

TEST(OAuthTest, ATokenAllocatesAndItsMacKeySignsTheAnswers) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto issued = issue(h, "north", 10s, 300);
  Reply r = allocate(c, "north", issued, issued.mac_key);
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(signed_with(r, issued.mac_key));
  // The allocation lives no longer than the token: 300 s from 10 s ago, plus 5 s of skew.
  EXPECT_EQ(r.lifetime(), 295u);
  // Later requests without a token use the same key id and mac_key.
  Reply p = token_request(
      c, Method::kCreatePermission, "north", nullptr, issued.mac_key,
      [](MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, addr("192.0.2.7", 1)); });
  EXPECT_TRUE(p.success()) << p.error();
  EXPECT_TRUE(signed_with(p, issued.mac_key));
}

TEST(OAuthTest, CoturnsSixteenByteSignatureIsAcceptedAndAnsweredInKind) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto issued = issue(h, "union", 0s);
  const std::span<const std::uint8_t> first16(issued.mac_key.data(), 16);
  Reply r = allocate(c, "union", issued, first16);
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(signed_with(r, first16));
  EXPECT_FALSE(signed_with(r, issued.mac_key));
}

TEST(OAuthTest, TokensOutsideTheirLifetimeAreRefused) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  for (auto age : {306s, -306s, 3600s}) {  // lifetime 300 + 5 s of skew, either side
    const auto issued = issue(h, "north", age);
    EXPECT_EQ(allocate(c, "north", issued, issued.mac_key).error(), 401) << age.count();
  }
  const auto late = issue(h, "north", 304s);
  const auto early = issue(h, "north", -304s);
  Reply e = allocate(c, "north", early, early.mac_key);
  ASSERT_TRUE(e.success()) << e.error();
  EXPECT_EQ(e.lifetime(), 1u);  // RFC 7635 §7: 300 + 5 - |now - timestamp|, from the future too
  TurnClient d(h, flow("192.0.2.51", 40000));
  d.challenge();
  Reply r = allocate(d, "north", late, late.mac_key);
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_EQ(r.lifetime(), 1u);
}

TEST(OAuthTest, OnlyTheHolderOfTheTokensKeyMovesItsAllocation) {
  // RFC 8016 with tokens: a key id is shared by every token its server issues, so what a move
  // must prove is the allocation's mac_key, not just any token under the same key id.
  HarnessConfig config = with_oauth();
  config.options.mobility = true;
  config.tickets = auth::MobilityTickets::random();
  Harness h(config);
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto mine = issue(h, "north", 0s);
  Reply r =
      token_request(c, Method::kAllocate, "north", &mine, mine.mac_key, [](MessageBuilder& b) {
        b.add_requested_transport(protocol::kProtocolUdp);
        b.add(attr::kMobilityTicket, {});
      });
  ASSERT_TRUE(r.success()) << r.error();
  const std::string ticket = r.text(attr::kMobilityTicket);
  const auto refresh = [&](TurnClient& from, const Issued& token) {
    from.challenge();
    return token_request(from, Method::kRefresh, "north", &token, token.mac_key,
                         [&](MessageBuilder& b) { b.add_string(attr::kMobilityTicket, ticket); });
  };
  TurnClient thief(h, flow("192.0.2.66", 1000));
  EXPECT_EQ(refresh(thief, issue(h, "south", 0s)).error(), 441);  // key id north, other mac_key
  TurnClient moved(h, flow("192.0.2.99", 50000));
  Reply m = refresh(moved, mine);
  EXPECT_TRUE(m.success()) << m.error();
}

TEST(OAuthTest, ATokenTcpAllocationBindsItsConnectionsWithItsOwnToken) {
  // RFC 6062 §5.4: ConnectionBind uses the control connection's credentials, here its token;
  // another token under the same key id does not take the connection.
  HarnessConfig config = with_oauth();
  config.options.tcp_relay = true;
  config.tcp = std::make_shared<core::TcpConnectionTable>();
  Harness h(config);
  TurnClient control(h, flow("192.0.2.50", 40000, core::Transport::kTcp));
  control.challenge();
  const auto mine = issue(h, "north", 0s);
  Reply r =
      token_request(control, Method::kAllocate, "north", &mine, mine.mac_key,
                    [](MessageBuilder& b) { b.add_requested_transport(protocol::kProtocolTcp); });
  ASSERT_TRUE(r.success()) << r.error();
  const auto peer = addr("192.0.2.10", 8080);
  EXPECT_TRUE(
      token_request(control, Method::kConnect, "north", nullptr, mine.mac_key,
                    [&](MessageBuilder& b) { b.add_xor_address(attr::kXorPeerAddress, peer); })
          .empty());
  ASSERT_EQ(h.relays.connects.size(), 1u);
  const auto id = h.relays.connects[0].id;
  ASSERT_TRUE(h.server->tcp_connected(id, true, h.clock.now, h.out));
  const auto bind = [&](const Issued& token, std::uint16_t port) {
    TurnClient data(h, flow("192.0.2.50", port, core::Transport::kTcp));
    data.challenge();
    return token_request(data, Method::kConnectionBind, "north", &token, token.mac_key,
                         [&](MessageBuilder& b) { b.add_u32(attr::kConnectionId, id); });
  };
  EXPECT_EQ(bind(issue(h, "south", 0s), 41000).error(), 400);
  Reply bound = bind(mine, 41001);
  EXPECT_TRUE(bound.success()) << bound.error();
}

TEST(OAuthTest, TheWrongKeyIdServerNameOrMacIsRefused) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto issued = issue(h, "north", 0s);
  EXPECT_EQ(allocate(c, "union", issued, issued.mac_key).error(), 401);   // another key's id
  EXPECT_EQ(allocate(c, "nobody", issued, issued.mac_key).error(), 401);  // no such key
  const auto other_server = issue(h, "north", 0s, 300, "other.example.org");
  EXPECT_EQ(allocate(c, "north", other_server, other_server.mac_key).error(), 401);
  const auto south = issue(h, "south", 0s);  // sealed with north's key, other mac_key
  EXPECT_EQ(allocate(c, "north", south, issued.mac_key).error(), 401);
  auto broken = issued;
  broken.token[20] ^= 0x40;
  EXPECT_EQ(allocate(c, "north", broken, issued.mac_key).error(), 401);
  broken.token.resize(10);
  EXPECT_EQ(allocate(c, "north", broken, issued.mac_key).error(), 401);
  EXPECT_TRUE(allocate(c, "north", issued, issued.mac_key).success());
}

TEST(OAuthTest, ARefreshWithANewTokenTakesItsKeyIdAndKey) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto first = issue(h, "north", 0s);
  ASSERT_TRUE(allocate(c, "north", first, first.mac_key).success());
  auto second = issue(h, "union", 0s);
  second.mac_key = bytes("another-mac-key-0123");
  second.token = auth::seal_access_token(
      {second.mac_key, auth::AccessToken::timestamp_of(h.clock.now.wall), 300},
      *keyring()->find("union"), kServerName, std::array<std::uint8_t, 12>{9});
  Reply r = token_request(c, Method::kRefresh, "union", &second, second.mac_key,
                          [](MessageBuilder& b) { b.add_u32(attr::kLifetime, 600); });
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(signed_with(r, second.mac_key));
  const auto permission = [](MessageBuilder& b) {
    b.add_xor_address(attr::kXorPeerAddress, addr("192.0.2.7", 1));
  };
  EXPECT_TRUE(
      token_request(c, Method::kCreatePermission, "union", nullptr, second.mac_key, permission)
          .success());
  EXPECT_EQ(token_request(c, Method::kCreatePermission, "north", nullptr, first.mac_key, permission)
                .error(),
            401);
  // A token counts only in Allocate and Refresh (RFC 7635): elsewhere it is ignored, and the
  // request must verify with the allocation's own key.
  EXPECT_EQ(token_request(c, Method::kCreatePermission, "north", &first, first.mac_key, permission)
                .error(),
            401);
  EXPECT_TRUE(
      token_request(c, Method::kCreatePermission, "union", &second, second.mac_key, permission)
          .success());
}

TEST(OAuthTest, LongTermCredentialsWorkBesideTokens) {
  Harness h(with_oauth());
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.login_and_allocate();
}

TEST(OAuthTest, ATokenWhenTokensAreOffGets420) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const auto issued = issue(h, "north", 0s);
  Reply r = allocate(c, "north", issued, issued.mac_key);
  EXPECT_EQ(r.error(), 420);
  EXPECT_EQ(r.raw(attr::kUnknownAttributes), (std::vector<std::uint8_t>{0x00, 0x1B}));
}

}  // namespace
}  // namespace tern::test
