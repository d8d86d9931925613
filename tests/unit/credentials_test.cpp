// Credential store: static users, hex keys, TURN REST usernames with secret rotation, USERHASH.
#include <gtest/gtest.h>

#include <vector>

#include "tern/auth/credentials.hpp"

namespace tern::auth {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::system_clock;

const Clock::time_point kBeforeExpiry = Clock::time_point(1699990000s);
const std::string kMatrixUser =
    "\xE3\x83\x9E\xE3\x83\x88\xE3\x83\xAA\xE3\x83\x83\xE3\x82\xAF\xE3\x82\xB9";

CredentialStore make(std::vector<StaticUser> users, std::vector<std::string> secrets) {
  auto built = CredentialStore::build("example.org", users, std::move(secrets));
  EXPECT_TRUE(built.errors.empty()) << built.errors.front();
  return std::move(*built.store);
}

TEST(Credentials, RestVectorFromTheReadme) {
  EXPECT_EQ(rest_password("north", "1700000000:alice"), "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
  const CredentialStore store = make({}, {"north"});
  auto found = store.lookup("1700000000:alice", kBeforeExpiry);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, CredentialStore::Source::kRest);
  EXPECT_EQ(found->username, "1700000000:alice");
  EXPECT_EQ(found->expiry, Clock::time_point(1700000000s));
  ASSERT_EQ(found->candidates.size(), 1u);
  EXPECT_EQ(to_hex(found->candidates[0].md5), "d9a6a3d964467baeffd2fce41704a913");
  ASSERT_TRUE(found->candidates[0].sha256);
  EXPECT_EQ(*found->candidates[0].sha256,
            sha256_key("1700000000:alice", "example.org", "Cd/49soE35ICqcJF/bCTn8Z4OyE="));
}

TEST(Credentials, RestExpiredOrMalformedIsUnknown) {
  const CredentialStore store = make({}, {"north"});
  EXPECT_FALSE(store.lookup("1700000000:alice", Clock::time_point(1700000000s)));
  EXPECT_FALSE(store.lookup("1700000000:alice", Clock::time_point(1800000000s)));
  EXPECT_TRUE(store.lookup("1700000000", kBeforeExpiry));  // bare expiry
  for (const char* bad : {"alice", ":alice", "17x0:alice", "-5:alice", " 1700000000:alice", ""})
    EXPECT_FALSE(store.lookup(bad, kBeforeExpiry)) << bad;
  EXPECT_TRUE(store.lookup("9999999999:alice", kBeforeExpiry));             // year 2286, clamped
  EXPECT_FALSE(store.lookup("99999999999999999999:alice", kBeforeExpiry));  // overflows int64
  EXPECT_FALSE(make({}, {}).lookup("1700000000:alice", kBeforeExpiry));     // no secrets
}

TEST(Credentials, EverySecretGivesACandidate) {
  const CredentialStore store = make({}, {"new-secret", "north"});
  auto found = store.lookup("1700000000:alice", kBeforeExpiry);
  ASSERT_TRUE(found);
  ASSERT_EQ(found->candidates.size(), 2u);
  EXPECT_EQ(found->candidates[0].md5, md5_key("1700000000:alice", "example.org",
                                              rest_password("new-secret", "1700000000:alice")));
  EXPECT_EQ(to_hex(found->candidates[1].md5), "d9a6a3d964467baeffd2fce41704a913");
}

TEST(Credentials, StaticUserKeys) {
  const CredentialStore store = make({{"alice", "s3cret", "", ""}}, {});
  auto found = store.lookup("alice", kBeforeExpiry);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, CredentialStore::Source::kStatic);
  EXPECT_FALSE(found->expiry);
  ASSERT_EQ(found->candidates.size(), 1u);
  EXPECT_EQ(found->candidates[0].md5, md5_key("alice", "example.org", "s3cret"));
  EXPECT_EQ(found->candidates[0].sha256, sha256_key("alice", "example.org", "s3cret"));
  EXPECT_FALSE(store.lookup("bob", kBeforeExpiry));
  EXPECT_FALSE(store.lookup("Alice", kBeforeExpiry));
}

TEST(Credentials, HexKeyUserHasNoSha256Key) {
  const CredentialStore store = make({{"carol", "", "D9A6A3D964467BAEFFD2FCE41704A913", ""}}, {});
  auto found = store.lookup("carol", kBeforeExpiry);
  ASSERT_TRUE(found);
  EXPECT_EQ(to_hex(found->candidates[0].md5), "d9a6a3d964467baeffd2fce41704a913");
  EXPECT_FALSE(found->candidates[0].sha256);
}

TEST(Credentials, StaticUserWinsOverRestParsing) {
  const CredentialStore store = make({{"1700000000:alice", "fixed", "", ""}}, {"north"});
  auto found = store.lookup("1700000000:alice", Clock::time_point(1800000000s));  // past expiry
  ASSERT_TRUE(found);
  EXPECT_EQ(found->source, CredentialStore::Source::kStatic);
  EXPECT_EQ(found->candidates[0].md5, md5_key("1700000000:alice", "example.org", "fixed"));
}

TEST(Credentials, UserhashFindsTheRfc8489B1User) {
  const CredentialStore store = make({{kMatrixUser, "TheMatrIX", "", ""}, {"alice", "x", "", ""}}, {});
  const std::vector<std::uint8_t> hash =
      from_hex("4a3cf38fef6992bda952c6780417da0f24819415569e60b205c46e41407f1704");
  Sha256Key key{};
  std::copy(hash.begin(), hash.end(), key.begin());
  auto found = store.lookup_userhash(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->username, kMatrixUser);
  EXPECT_EQ(found->candidates[0].sha256, sha256_key(kMatrixUser, "example.org", "TheMatrIX"));
  key[0] ^= 1;
  EXPECT_FALSE(store.lookup_userhash(key));
}

TEST(Credentials, BadEntriesRejectedWithMessages) {
  const std::vector<StaticUser> users = {{"", "p", "", ""},     {"a", "", "", ""},  {"b", "p", "00", ""},
                                         {"c", "", "abcd", ""}, {"d", "p", "", ""}, {"d", "q", "", ""}};
  auto built = CredentialStore::build("example.org", users, {"ok", ""});
  EXPECT_FALSE(built.store);
  ASSERT_EQ(built.errors.size(), 6u);
  EXPECT_NE(built.errors[1].find("'a'"), std::string::npos) << built.errors[1];
  EXPECT_NE(built.errors[3].find("32 hex digits"), std::string::npos) << built.errors[3];
  EXPECT_NE(built.errors[4].find("listed twice"), std::string::npos) << built.errors[4];
  EXPECT_NE(built.errors[5].find("auth.secrets[1]"), std::string::npos) << built.errors[5];
}

}  // namespace
}  // namespace tern::auth
