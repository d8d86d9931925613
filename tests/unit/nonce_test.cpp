// Stateless nonces: cookie and feature bits (RFC 8489 §9.2, Erratum 6290), binding, expiry.
#include <gtest/gtest.h>

#include <array>
#include <set>
#include <stdexcept>

#include "tern/auth/nonce.hpp"

namespace tern::auth {
namespace {

using namespace std::chrono_literals;
using protocol::TransportAddress;
using Verdict = NonceIssuer::Verdict;

constexpr std::array<std::uint8_t, 32> kSecret = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                                  12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                                  23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
const auto kNow = std::chrono::system_clock::time_point(1700000000s);

TransportAddress addr(const std::string& ip, std::uint16_t port) {
  TransportAddress a;
  EXPECT_TRUE(TransportAddress::parse_ip(ip, a));
  a.port = port;
  return a;
}

TEST(Nonce, RoundTrip) {
  const NonceIssuer issuer(kSecret, 600s, kFeaturePasswordAlgorithms);
  for (const auto& client : {addr("192.0.2.1", 32853), addr("2001:db8::1", 5000)}) {
    const std::string nonce = issuer.issue(client, kNow);
    EXPECT_EQ(nonce.size(), NonceIssuer::kNonceSize);
    EXPECT_LT(nonce.size(), 128u);
    for (char c : nonce) {
      EXPECT_TRUE(c > 0x20 && c < 0x7f && c != '"' && c != '\\') << nonce;
    }
    EXPECT_EQ(issuer.check(nonce, client, kNow), Verdict::kValid);
    EXPECT_EQ(issuer.check(nonce, client, kNow + 599s), Verdict::kValid);
  }
}

TEST(Nonce, ExpiredIsStale) {
  const NonceIssuer issuer(kSecret, 600s, 0);
  const auto client = addr("198.51.100.7", 40000);
  const std::string nonce = issuer.issue(client, kNow);
  EXPECT_EQ(issuer.check(nonce, client, kNow + 600s), Verdict::kStale);
  EXPECT_EQ(issuer.check(nonce, client, kNow + 24h), Verdict::kStale);
  // A fresh nonce for the same client after the 438 is valid again.
  EXPECT_EQ(issuer.check(issuer.issue(client, kNow + 24h), client, kNow + 24h), Verdict::kValid);
}

TEST(Nonce, OtherClientIsInvalid) {
  const NonceIssuer issuer(kSecret, 600s, 0);
  const auto client = addr("198.51.100.7", 40000);
  const std::string nonce = issuer.issue(client, kNow);
  EXPECT_EQ(issuer.check(nonce, addr("198.51.100.7", 40001), kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check(nonce, addr("198.51.100.8", 40000), kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check(nonce, addr("::ffff:198.51.100.7", 40000), kNow), Verdict::kInvalid);
  // RFC 8489 §9.2.4: two sources never share a nonce, even within the same instant.
  EXPECT_NE(nonce, issuer.issue(addr("198.51.100.7", 40001), kNow));
}

TEST(Nonce, NoncesDifferOverTime) {
  const NonceIssuer issuer(kSecret, 600s, 0);
  const auto client = addr("198.51.100.7", 40000);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    seen.insert(issuer.issue(client, kNow + std::chrono::microseconds(i)));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Nonce, TamperedIsInvalid) {
  const NonceIssuer issuer(kSecret, 600s, kFeaturePasswordAlgorithms);
  const auto client = addr("203.0.113.9", 3478);
  const std::string nonce = issuer.issue(client, kNow);
  for (std::size_t i = 0; i < nonce.size(); ++i) {
    std::string bad = nonce;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(issuer.check(bad, client, kNow), Verdict::kInvalid) << i;
  }
  // Clearing the password-algorithms bit (a bid-down) breaks the MAC.
  std::string downgraded = nonce;
  downgraded[12] = 'A';
  EXPECT_EQ(issuer.check(downgraded, client, kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check(nonce.substr(0, nonce.size() - 1), client, kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check(nonce + "A", client, kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check("", client, kNow), Verdict::kInvalid);
  EXPECT_EQ(issuer.check("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA", client, kNow),
            Verdict::kInvalid);
}

TEST(Nonce, CookiePrefixAndFeatureBits) {
  const auto client = addr("192.0.2.1", 1);
  const std::pair<std::uint32_t, const char*> cases[] = {
      {0, "obMatJos2AAAA"},
      {kFeaturePasswordAlgorithms, "obMatJos2AAAB"},
      {kFeatureUsernameAnonymity, "obMatJos2AAAC"},
      {kFeaturePasswordAlgorithms | kFeatureUsernameAnonymity, "obMatJos2AAAD"}};
  for (const auto& [features, prefix] : cases) {
    const NonceIssuer issuer(kSecret, 600s, features);
    const std::string nonce = issuer.issue(client, kNow);
    EXPECT_EQ(nonce.substr(0, 13), prefix);
    EXPECT_EQ(nonce_security_features(nonce), features);
  }
  EXPECT_EQ(nonce_security_features("obMatJos2AAACf//499k954d6OL34oL9FSTvy64sA"), 2u);
  EXPECT_EQ(nonce_security_features("obMatJos2gAAA"), 0x800000u);  // RFC 8656 §20 (MSB reading)
  EXPECT_FALSE(nonce_security_features("f//499k954d6OL34oL9FSTvy64sA"));
  EXPECT_FALSE(nonce_security_features("obMatJos2AA"));
  EXPECT_FALSE(nonce_security_features("obMatJos2AA!A"));
}

TEST(Nonce, DifferentSecretIsInvalid) {
  std::array<std::uint8_t, 32> other = kSecret;
  other[31] ^= 1;
  const NonceIssuer a(kSecret, 600s, 0), b(other, 600s, 0);
  const auto client = addr("192.0.2.1", 1);
  EXPECT_EQ(b.check(a.issue(client, kNow), client, kNow), Verdict::kInvalid);
  // Same secret in another instance (a fleet or a restart) verifies.
  const NonceIssuer a2(kSecret, 60s, 0);
  EXPECT_EQ(a2.check(a.issue(client, kNow), client, kNow), Verdict::kValid);
}

TEST(Nonce, RejectsWeakConfiguration) {
  const std::array<std::uint8_t, 8> short_secret{};
  EXPECT_THROW(NonceIssuer(short_secret, 600s, 0), std::invalid_argument);
  EXPECT_THROW(NonceIssuer(kSecret, 600s, 1u << 24), std::invalid_argument);
}

}  // namespace
}  // namespace tern::auth
