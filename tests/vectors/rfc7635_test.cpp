// RFC 7635 Appendix A: the sample access tokens open with the RFC's key, nonce and server name,
// and nothing else opens them; sealing the same fields gives the same bytes back.
#include <gtest/gtest.h>

#include "tern/auth/access_token.hpp"
#include "vectors/vector_file.hpp"

namespace tern {
namespace {

using auth::AccessToken;
using auth::OAuthKey;
using auth::TokenAlgorithm;
using testing::bytes_of;
using testing::load_vector;

const std::string kKey = "HGkj32KJGiuy098sdfaqbNjOiaz71923";
const std::string kServerName = "blackdow.carleon.gov";
const std::string kNonce = "h4j3k2l2n4b5";

OAuthKey key(TokenAlgorithm a) {
  auto bytes = bytes_of(kKey);
  bytes.resize(a == TokenAlgorithm::kA128Gcm ? 16 : 32);
  return {a, bytes};
}

void expect_rfc_fields(const std::optional<AccessToken>& t) {
  ASSERT_TRUE(t);
  EXPECT_EQ(t->mac_key, bytes_of("ZksjpweoixXmvn67534m"));
  EXPECT_EQ(t->timestamp, 92470300704768u);
  EXPECT_EQ(t->lifetime, 3600u);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(t->issued()), 1410984813);
}

TEST(Rfc7635A, SampleTokensOpen) {
  for (auto [file, a] :
       {std::pair{"rfc7635_A_sample_token_aes128gcm.hex", TokenAlgorithm::kA128Gcm},
        std::pair{"rfc7635_A_sample_token_aes256gcm.hex", TokenAlgorithm::kA256Gcm}}) {
    const auto token = load_vector(file);
    ASSERT_EQ(token.size(), 64u) << file;
    expect_rfc_fields(auth::open_access_token(token, key(a), kServerName));
  }
}

TEST(Rfc7635A, SealingTheSameFieldsGivesTheSameToken) {
  const auto token = load_vector("rfc7635_A_sample_token_aes256gcm.hex");
  AccessToken t{bytes_of("ZksjpweoixXmvn67534m"), 92470300704768u, 3600};
  std::array<std::uint8_t, auth::kTokenNonceSize> nonce{};
  std::copy(kNonce.begin(), kNonce.end(), nonce.begin());
  EXPECT_EQ(auth::seal_access_token(t, key(TokenAlgorithm::kA256Gcm), kServerName, nonce), token);
}

TEST(Rfc7635A, NothingElseOpensThem) {
  const auto token = load_vector("rfc7635_A_sample_token_aes256gcm.hex");
  const auto k = key(TokenAlgorithm::kA256Gcm);
  EXPECT_FALSE(auth::open_access_token(token, k, kServerName + "."));  // another server
  EXPECT_FALSE(auth::open_access_token(token, key(TokenAlgorithm::kA128Gcm), kServerName));
  for (std::size_t i = 0; i < token.size(); ++i) {  // any byte changed
    auto bad = token;
    bad[i] ^= 0x01;
    EXPECT_FALSE(auth::open_access_token(bad, k, kServerName)) << "byte " << i;
  }
  for (std::size_t n = 0; n < token.size(); ++n) {  // any shorter token
    EXPECT_FALSE(auth::open_access_token(std::span(token).first(n), k, kServerName)) << n;
  }
}

TEST(Rfc7635A, TimestampsCarryFractions) {
  const auto t =
      std::chrono::system_clock::from_time_t(1410984813) + std::chrono::milliseconds(500);
  const auto ts = AccessToken::timestamp_of(t);
  EXPECT_EQ(ts >> 16, 1410984813u);
  EXPECT_EQ(ts & 0xFFFF, 32000u);
  const AccessToken back{{}, ts, 0};
  EXPECT_EQ(back.issued(), t);
}

TEST(OAuthKeyring, KeysAreCheckedAndFoundByKid) {
  // coturn's test keys are base64 of ASCII with a trailing newline: the first bytes are used.
  const std::vector<auth::OAuthKeyring::Entry> entries = {
      {"north", "A256GCM", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK"},
      {"union", "A128GCM", "MTIzNDU2Nzg5MDEyMzQ1Ngo="}};
  auto built = auth::OAuthKeyring::build("example.org", entries);
  ASSERT_TRUE(built.keyring) << built.errors[0];
  EXPECT_EQ(built.keyring->find("north")->key, bytes_of("01234567890123456789012345678901"));
  EXPECT_EQ(built.keyring->find("union")->key, bytes_of("1234567890123456"));
  EXPECT_EQ(built.keyring->find("south"), nullptr);
  std::string why;
  EXPECT_FALSE(auth::OAuthKeyring::check_key("A192GCM", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", &why));
  EXPECT_FALSE(auth::OAuthKeyring::check_key("A256GCM", "MTIzNDU2Nzg5MDEyMzQ1Ngo=", &why));
  EXPECT_NE(why.find("32 bytes"), std::string::npos);
  EXPECT_FALSE(auth::OAuthKeyring::check_key("A128GCM", "not base64!", &why));
  const std::vector<auth::OAuthKeyring::Entry> twice = {entries[0], entries[0]};
  EXPECT_FALSE(auth::OAuthKeyring::build("x", twice).keyring);
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(auth::from_base64("aGk="), bytes_of("hi"));
  EXPECT_EQ(auth::from_base64("aGk"), bytes_of("hi"));
  EXPECT_EQ(auth::from_base64("aGVsbG8h"), bytes_of("hello!"));
  EXPECT_TRUE(auth::from_base64("").empty());
  EXPECT_TRUE(auth::from_base64("a=Gk").empty());
  EXPECT_TRUE(auth::from_base64("aG k").empty());
}

}  // namespace
}  // namespace tern
