// TURN long-term authentication in the core: 401/400/438, nonces, PASSWORD-ALGORITHMS, SHA-256.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"
#include "tern/auth/nonce.hpp"

namespace tern::test {
namespace {

using Integrity = TurnClient::Integrity;

const std::vector<std::uint8_t> kOfferedAlgorithms = {0x00, 0x02, 0x00, 0x00,   // SHA-256
                                                      0x00, 0x01, 0x00, 0x00};  // MD5

// Which credential attributes a hand-made Allocate carries, and how it is signed.
struct Credentials {
  bool username = true;
  bool realm = true;
  bool nonce = true;
  bool userhash = false;
  std::optional<std::vector<std::uint8_t>> algorithms = std::nullopt;  // PASSWORD-ALGORITHMS
  std::optional<std::uint16_t> algorithm = std::nullopt;               // PASSWORD-ALGORITHM
  std::optional<std::vector<std::uint8_t>> mi_key = std::nullopt;      // MESSAGE-INTEGRITY
  std::optional<std::vector<std::uint8_t>> mi256_key = std::nullopt;   // -SHA256
};

std::vector<std::uint8_t> md5() {
  auto k = auth::md5_key(kUser, kRealm, kPassword);
  return {k.begin(), k.end()};
}
std::vector<std::uint8_t> sha256() {
  auto k = auth::sha256_key(kUser, kRealm, kPassword);
  return {k.begin(), k.end()};
}

Reply allocate_with(TurnClient& c, const Credentials& cr) {
  return c.send(c.build(
      Method::kAllocate, MessageClass::kRequest, c.next_tid(),
      [&](MessageBuilder& b) {
        b.add_requested_transport(protocol::kProtocolUdp);
        if (cr.username) b.add_string(attr::kUsername, kUser);
        if (cr.userhash) b.add(attr::kUserhash, auth::userhash(kUser, kRealm));
        if (cr.realm) b.add_string(attr::kRealm, kRealm);
        if (cr.nonce) b.add_string(attr::kNonce, c.nonce());
        if (cr.algorithms) b.add(attr::kPasswordAlgorithms, *cr.algorithms);
        if (cr.algorithm) b.add_password_algorithm(*cr.algorithm);
        if (cr.mi_key) b.add_message_integrity(*cr.mi_key);
        if (cr.mi256_key) b.add_message_integrity_sha256(*cr.mi256_key);
      },
      false));
}

TEST(AuthTest, NoCredentialsGets401WithRealmNonceAndAlgorithms) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.challenge();
  EXPECT_EQ(r.type(), 0x0113);
  EXPECT_EQ(r.error(), 401);
  EXPECT_EQ(r.text(attr::kRealm), kRealm);
  const std::string nonce = r.text(attr::kNonce);
  EXPECT_EQ(nonce.substr(0, 9), "obMatJos2");
  EXPECT_LT(nonce.size(), 128u);
  auto features = auth::nonce_security_features(nonce);
  ASSERT_TRUE(features);
  EXPECT_TRUE(*features & auth::kFeaturePasswordAlgorithms);  // so the list must be present
  EXPECT_EQ(r.raw(attr::kPasswordAlgorithms), kOfferedAlgorithms);
  EXPECT_FALSE(r.has(attr::kMessageIntegrity));
  EXPECT_FALSE(r.has(attr::kMessageIntegritySha256));
  EXPECT_FALSE(r.has(attr::kUsername));
  EXPECT_FALSE(r.has(attr::kXorRelayedAddress));
  EXPECT_EQ(h.server->allocation_count(), 0u);
  EXPECT_EQ(h.relays.open_calls, 0u);
}

TEST(AuthTest, UnknownUserAndWrongPasswordLookTheSame) {
  Harness h;
  TurnClient stranger(h, flow("192.0.2.50", 40000), "mallory", "secret");
  const Reply first = stranger.challenge();
  const Reply unknown = stranger.allocate();
  TurnClient guesser(h, flow("192.0.2.51", 40000), std::string(kUser), "wrong");
  guesser.challenge();
  const Reply wrong = guesser.allocate();

  EXPECT_EQ(unknown.error(), 401);
  EXPECT_EQ(wrong.error(), 401);
  EXPECT_EQ(unknown.attribute_types(), wrong.attribute_types());
  EXPECT_EQ(unknown.attribute_types(), first.attribute_types());
  EXPECT_EQ(unknown.raw(attr::kErrorCode), wrong.raw(attr::kErrorCode));
  EXPECT_EQ(unknown.bytes.size(), wrong.bytes.size());
  for (const Reply* r : {&unknown, &wrong}) {
    EXPECT_FALSE(r->has(attr::kMessageIntegrity));
    EXPECT_FALSE(r->has(attr::kUsername));
    EXPECT_EQ(r->text(attr::kRealm), kRealm);
    EXPECT_EQ(r->raw(attr::kPasswordAlgorithms), kOfferedAlgorithms);
  }
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(AuthTest, IntegrityWithoutUsernameRealmOrNonceIs400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Credentials no_user{.username = false, .mi_key = md5()};
  Credentials no_realm{.realm = false, .mi_key = md5()};
  Credentials no_nonce{.nonce = false, .mi_key = md5()};
  for (const Credentials* cr : {&no_user, &no_realm, &no_nonce}) {
    Reply r = allocate_with(c, *cr);
    EXPECT_EQ(r.error(), 400);
    EXPECT_FALSE(r.has(attr::kMessageIntegrity));
    EXPECT_FALSE(r.has(attr::kNonce));
    EXPECT_FALSE(r.has(attr::kRealm));
    EXPECT_FALSE(r.has(attr::kUsername));
  }
  EXPECT_EQ(h.server->allocation_count(), 0u);
  // The complete set is accepted.
  EXPECT_TRUE(allocate_with(c, Credentials{.mi_key = md5()}).success());
}

TEST(AuthTest, StaleNonceGets438WithAFreshNonce) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const std::string old_nonce = c.nonce();
  h.clock.advance(9min);
  ASSERT_TRUE(c.allocate().success());  // still within the 10-minute nonce lifetime
  h.clock.advance(2min);
  Reply stale = c.refresh(600);
  EXPECT_EQ(stale.error(), 438);
  EXPECT_FALSE(stale.has(attr::kMessageIntegrity));
  EXPECT_EQ(stale.text(attr::kRealm), kRealm);
  EXPECT_EQ(stale.raw(attr::kPasswordAlgorithms), kOfferedAlgorithms);
  const std::string fresh = stale.text(attr::kNonce);
  EXPECT_EQ(fresh.substr(0, 9), "obMatJos2");
  EXPECT_NE(fresh, old_nonce);
  c.learn(stale);
  Reply ok = c.refresh(600);
  EXPECT_TRUE(ok.success()) << ok.error();
}

TEST(AuthTest, NonceIsBoundToTheClientAddress) {
  Harness h;
  TurnClient a(h, flow("192.0.2.50", 40000));
  TurnClient b(h, flow("192.0.2.50", 40001));
  a.challenge();
  b.challenge();
  EXPECT_NE(a.nonce(), b.nonce());  // same instant, different source port
  b.set_nonce(a.nonce());
  Reply r = b.allocate();
  EXPECT_EQ(r.error(), 438);
  EXPECT_FALSE(h.server->has_allocation(b.five_tuple()));
}

TEST(AuthTest, TamperedPasswordAlgorithmsIs400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const std::uint16_t kSha = 0x0002;
  const std::uint16_t kMd5 = 0x0001;
  const std::vector<std::uint8_t> md5_only = {0x00, 0x01, 0x00, 0x00};
  const std::vector<std::uint8_t> reordered = {0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
  const std::vector<Credentials> bad = {
      {.algorithms = md5_only, .algorithm = kMd5, .mi_key = md5()},   // SHA-256 removed
      {.algorithms = reordered, .algorithm = kMd5, .mi_key = md5()},  // order changed
      {.algorithm = kSha, .mi256_key = sha256()},                     // list stripped
      {.algorithms = kOfferedAlgorithms, .mi256_key = sha256()},      // choice stripped
      {.algorithms = kOfferedAlgorithms,
       .algorithm = 0x0003,
       .mi256_key = sha256()},  // not offered
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    Reply r = allocate_with(c, bad[i]);
    EXPECT_EQ(r.error(), 400) << "case " << i;
    EXPECT_FALSE(r.has(attr::kMessageIntegrity)) << "case " << i;
    EXPECT_FALSE(r.has(attr::kMessageIntegritySha256)) << "case " << i;
  }
  EXPECT_EQ(h.server->allocation_count(), 0u);
  // The untouched list with SHA-256 works.
  Reply ok = allocate_with(
      c, {.algorithms = kOfferedAlgorithms, .algorithm = kSha, .mi256_key = sha256()});
  EXPECT_TRUE(ok.success()) << ok.error();
}

TEST(AuthTest, Sha256LoginIsAnsweredWithIntegritySha256) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.integrity = Integrity::kSha256;
  c.challenge();
  Reply r = c.allocate();
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(r.has(attr::kMessageIntegritySha256));
  EXPECT_FALSE(r.has(attr::kMessageIntegrity));
  EXPECT_TRUE(c.verified(r));
  auto m = r.view();
  EXPECT_EQ(protocol::check_message_integrity_sha256(*m, sha256()), protocol::Check::kValid);
  EXPECT_NE(protocol::check_message_integrity_sha256(*m, md5()), protocol::Check::kValid);
  // Later requests of the allocation stay on SHA-256.
  Reply refreshed = c.refresh(600);
  EXPECT_TRUE(refreshed.success());
  EXPECT_TRUE(refreshed.has(attr::kMessageIntegritySha256));
}

TEST(AuthTest, Md5LoginIsAnsweredWithMessageIntegrityOnly) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.login_and_allocate();
  EXPECT_TRUE(r.has(attr::kMessageIntegrity));
  EXPECT_FALSE(r.has(attr::kMessageIntegritySha256));
  EXPECT_FALSE(r.has(attr::kRealm));
  EXPECT_FALSE(r.has(attr::kNonce));
  EXPECT_FALSE(r.has(attr::kUsername));
  EXPECT_EQ(protocol::check_message_integrity(*r.view(), md5()), protocol::Check::kValid);
}

TEST(AuthTest, IntegritySha256DecidesWhenBothArePresent) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const std::vector<std::uint8_t> garbage(16, 0xAB);
  // Only MESSAGE-INTEGRITY is right: the SHA-256 one is checked, so 401.
  Reply only_mi = allocate_with(c, {.mi_key = md5(), .mi256_key = garbage});
  EXPECT_EQ(only_mi.error(), 401);
  // Only MESSAGE-INTEGRITY-SHA256 is right: accepted.
  Reply only_sha = allocate_with(c, {.algorithms = kOfferedAlgorithms,
                                     .algorithm = 0x0002,
                                     .mi_key = garbage,
                                     .mi256_key = sha256()});
  EXPECT_TRUE(only_sha.success()) << only_sha.error();
}

TEST(AuthTest, UserhashLogin) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = allocate_with(c, {.username = false,
                              .userhash = true,
                              .algorithms = kOfferedAlgorithms,
                              .algorithm = 0x0002,
                              .mi256_key = sha256()});
  EXPECT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(r.has(attr::kMessageIntegritySha256));
}

std::uint32_t challenge_features(Harness& h, const core::FiveTuple& f) {
  TurnClient c(h, f);
  auto features = auth::nonce_security_features(c.challenge().text(attr::kNonce));
  EXPECT_TRUE(features);
  return features.value_or(0);
}

// RFC 8489 §9.2.1: a client told "username anonymity" sends USERHASH, which cannot name a TURN
// REST credential. With REST secrets the server does not advertise it; with static users only
// it does.
TEST(AuthTest, UsernameAnonymityIsAdvertisedOnlyWithoutRestSecrets) {
  Harness rest;  // static user + REST secret
  EXPECT_EQ(challenge_features(rest, flow("192.0.2.50", 40000)) & auth::kFeatureUsernameAnonymity,
            0u);
  EXPECT_NE(challenge_features(rest, flow("192.0.2.50", 40000)) & auth::kFeaturePasswordAlgorithms,
            0u);
  Harness users_only({.rest_secret = false});
  EXPECT_NE(
      challenge_features(users_only, flow("192.0.2.50", 40000)) & auth::kFeatureUsernameAnonymity,
      0u);
}

TEST(AuthTest, RestCredentialWithSha256AndUsernameWorksWhereUserhashCannot) {
  Harness h;
  const std::string user = rest_user();
  TurnClient c(h, flow("192.0.2.50", 40000), user, rest_pass());
  c.challenge();
  auto key = auth::sha256_key(user, kRealm, rest_pass());
  const std::vector<std::uint8_t> k(key.begin(), key.end());
  Reply by_name = c.send(c.build(
      Method::kAllocate, MessageClass::kRequest, c.next_tid(),
      [&](MessageBuilder& b) {
        b.add_requested_transport(protocol::kProtocolUdp);
        b.add_string(attr::kUsername, user);
        b.add_string(attr::kRealm, kRealm);
        b.add_string(attr::kNonce, c.nonce());
        b.add(attr::kPasswordAlgorithms, kOfferedAlgorithms);
        b.add_password_algorithm(0x0002);
        b.add_message_integrity_sha256(k);
      },
      false));
  EXPECT_TRUE(by_name.success()) << by_name.error();
  EXPECT_TRUE(by_name.has(attr::kMessageIntegritySha256));
}

TEST(AuthTest, ReconfigureAddingRestSecretsStopsAdvertisingAnonymityAndKeepsNonces) {
  Harness h({.rest_secret = false});
  TurnClient c(h, flow("192.0.2.50", 40000));
  const std::string nonce = c.challenge().text(attr::kNonce);
  ASSERT_NE(*auth::nonce_security_features(nonce) & auth::kFeatureUsernameAnonymity, 0u);
  const std::vector<auth::StaticUser> users = {{.name = std::string(kUser),
                                                .password = std::string(kPassword),
                                                .key_hex = {},
                                                .sha256_key_hex = {}}};
  auto store = auth::CredentialStore::build(std::string(kRealm), users, {"fresh-secret"});
  ASSERT_TRUE(store.store);
  core::ServerDeps deps;
  deps.credentials = std::make_shared<const auth::CredentialStore>(std::move(*store.store));
  deps.quota = h.quota;
  h.server->reconfigure(default_options(), std::move(deps));
  TurnClient other(h, flow("192.0.2.51", 40000));
  EXPECT_EQ(*auth::nonce_security_features(other.challenge().text(attr::kNonce)) &
                auth::kFeatureUsernameAnonymity,
            0u);
  // The nonce issued before the reload still authenticates.
  EXPECT_TRUE(c.allocate().success());
}

TEST(AuthTest, WrongRealmIs401) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.send(c.build(
      Method::kAllocate, MessageClass::kRequest, c.next_tid(),
      [&](MessageBuilder& b) {
        b.add_requested_transport(protocol::kProtocolUdp);
        b.add_string(attr::kUsername, kUser);
        b.add_string(attr::kRealm, "other.org");
        b.add_string(attr::kNonce, c.nonce());
        auto k = auth::md5_key(kUser, "other.org", kPassword);
        b.add_message_integrity(k);
      },
      false));
  EXPECT_EQ(r.error(), 401);
  EXPECT_EQ(r.text(attr::kRealm), kRealm);
}

TEST(AuthTest, RestCredentialsLogInUntilTheyExpire) {
  Harness h;
  TurnClient rest(h, flow("192.0.2.50", 40000), rest_user(), rest_pass());
  EXPECT_TRUE(rest.login_and_allocate().success());

  const std::string expired_user = "1699999999:alice";
  TurnClient old(h, flow("192.0.2.51", 40000), expired_user,
                 auth::rest_password(kRestSecret, expired_user));
  old.challenge();
  EXPECT_EQ(old.allocate().error(), 401);

  TurnClient forged(h, flow("192.0.2.52", 40000), rest_user(),
                    auth::rest_password("south", rest_user()));
  forged.challenge();
  EXPECT_EQ(forged.allocate().error(), 401);
}

TEST(AuthTest, RestAllocationOutlivesItsCredential) {
  Harness h;
  const std::string user = "1700000100:alice";  // expires 100 s after the clock starts
  const std::string password = auth::rest_password(kRestSecret, user);
  TurnClient c(h, flow("192.0.2.50", 40000), user, password);
  c.login_and_allocate();
  h.clock.advance(200s);
  // TURN REST draft §4.2: only Allocate checks the timestamp; the allocation lives on.
  Reply r = c.refresh(600);
  EXPECT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(c.create_permission({addr("192.0.2.10", 1)}).success());
  // A new allocation with the expired credential is refused.
  TurnClient again(h, flow("192.0.2.50", 40001), user, password);
  again.challenge();
  EXPECT_EQ(again.allocate().error(), 401);
}

// An Allocate without MESSAGE-INTEGRITY: what the reply rate limit counts.
Reply unauthenticated(TurnClient& c) {
  return c.send(c.build(Method::kAllocate, MessageClass::kRequest, c.next_tid(),
                        TurnClient::udp_transport(), false));
}

TEST(AuthTest, UnauthenticatedRepliesAreRateLimitedPerSourceIp) {
  core::ServerOptions options = default_options();
  options.unauthenticated_replies_per_second = 5;
  options.unauthenticated_reply_burst = 10;
  Harness h({.options = options});
  TurnClient c(h, flow("192.0.2.50", 40000));
  TurnClient same_ip(h, flow("192.0.2.50", 40001));
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += unauthenticated(c).empty() ? 0 : 1;
  EXPECT_EQ(answered, 10);
  EXPECT_TRUE(unauthenticated(c).empty());
  EXPECT_TRUE(unauthenticated(same_ip).empty());  // the budget is per IP, not per port
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kRateLimited), 2u);
  TurnClient other(h, flow("192.0.2.51", 40000));
  EXPECT_EQ(unauthenticated(other).error(), 401);
  h.clock.advance(1s);
  EXPECT_EQ(unauthenticated(c).error(), 401);
  // Authenticated requests are not limited.
  c.learn(unauthenticated(c));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(c.refresh(600).error(), 437);
}

TEST(AuthTest, ManyClientsBehindOneAddressAreNeverThrottled) {
  // The defaults (20/s, bursts of 512): 2,000 allocations from one address (a campus, a
  // carrier NAT), 256 in flight at a time, all at the same instant: every challenge is
  // answered, because each client that authenticates gives its challenge back.
  Harness h;
  ASSERT_EQ(h.server->options().unauthenticated_replies_per_second, 20u);
  std::uint16_t port = 20000;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::unique_ptr<TurnClient>> wave;
    for (int i = 0; i < 256; ++i) {
      wave.push_back(std::make_unique<TurnClient>(h, flow("192.0.2.70", port++)));
      Reply r = wave.back()->challenge();
      ASSERT_EQ(r.error(), 401) << "round " << round << " client " << i;
    }
    for (auto& c : wave) ASSERT_TRUE(c->allocate().success());
  }
  EXPECT_EQ(h.server->stats().dropped_count(core::Drop::kRateLimited), 0u);
  EXPECT_EQ(h.server->allocation_count(), 2048u);
}

TEST(AuthTest, SourcesThatNeverAuthenticateGetBurstThenRate) {
  core::ServerOptions options = default_options();
  options.unauthenticated_replies_per_second = 20;
  options.unauthenticated_reply_burst = 512;
  Harness h({.options = options});
  // One address: 2,000 requests at once draw the burst, then 20 a second.
  TurnClient flood(h, flow("192.0.2.80", 40000));
  int answered = 0;
  for (int i = 0; i < 2000; ++i) answered += unauthenticated(flood).empty() ? 0 : 1;
  EXPECT_EQ(answered, 512);
  h.clock.advance(10s);
  answered = 0;
  for (int i = 0; i < 1000; ++i) answered += unauthenticated(flood).empty() ? 0 : 1;
  EXPECT_EQ(answered, 200);
  // Many addresses: each one is held to its own budget.
  answered = 0;
  for (int source = 0; source < 20; ++source) {
    TurnClient c(h, flow("192.0.2." + std::to_string(100 + source), 40000));
    for (int i = 0; i < 600; ++i) answered += unauthenticated(c).empty() ? 0 : 1;
  }
  EXPECT_EQ(answered, 20 * 512);
}

TEST(AuthTest, UnauthenticatedReplyLimitHoldsAcrossWorkers) {
  // Two workers (two servers) share one limiter, as the runtime wires them: a source whose
  // ports the kernel spreads over both gets the configured budget once, not once per worker.
  core::ServerOptions options = default_options();
  options.unauthenticated_replies_per_second = 5;
  options.unauthenticated_reply_burst = 10;
  auto shared = std::make_shared<core::ReplyRateLimit>(0, 0);  // the servers set the limits
  Harness w1({.options = options, .reply_limit = shared});
  Harness w2({.options = options, .reply_limit = shared});
  TurnClient a(w1, flow("192.0.2.60", 40000));
  TurnClient b(w2, flow("192.0.2.60", 40001));
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += unauthenticated(i % 2 == 0 ? a : b).empty() ? 0 : 1;
  EXPECT_EQ(answered, 10);
  EXPECT_TRUE(unauthenticated(a).empty());
  EXPECT_TRUE(unauthenticated(b).empty());
  // A reload to "unlimited" reaches the shared limiter.
  options.unauthenticated_replies_per_second = 0;
  w1.server->reconfigure(options, {});
  EXPECT_EQ(unauthenticated(b).error(), 401);
}

}  // namespace
}  // namespace tern::test
