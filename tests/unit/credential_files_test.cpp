// Users and secrets from files and environment variables; the `tern key` line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/credential_files.hpp"

namespace tern::config {
namespace {

TEST(CredentialFiles, UsersFileFormats) {
  std::vector<std::string> errors;
  auto users = parse_users(
      "# comment\n\nalice md5=8493fbc53ba582fb4c044c456bdc40eb\n"
      "bob md5=00112233445566778899aabbccddeeff sha256=" + std::string(64, 'a') + "\n"
      "carol password=two words\n",
      "users.txt", errors);
  ASSERT_TRUE(errors.empty()) << errors[0];
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(users[0].name, "alice");
  EXPECT_EQ(users[0].key, "8493fbc53ba582fb4c044c456bdc40eb");
  EXPECT_EQ(users[1].sha256_key, std::string(64, 'a'));
  EXPECT_EQ(users[2].password, "two words");
}

TEST(CredentialFiles, BadLinesNameFileAndLine) {
  std::vector<std::string> errors;
  auto users = parse_users("alice md5=00\nbob\ncarol key=1\n", "users.txt", errors);
  EXPECT_EQ(users.size(), 1u);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rfind("users.txt:2: ", 0), 0u) << errors[0];
  EXPECT_EQ(errors[1].rfind("users.txt:3: ", 0), 0u) << errors[1];
}

TEST(CredentialFiles, KeyLineMatchesRfc8489Example) {
  EXPECT_EQ(user_key_line("user", "realm", "pass").rfind("user md5=8493fbc53ba582fb4c044c456bdc40eb sha256=", 0),
            0u);
}

TEST(CredentialFiles, MergesConfigFilesAndEnvironment) {
  const auto dir = std::filesystem::temp_directory_path() / "tern-credential-files-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "users") << "bob password=x\n";
  std::ofstream(dir / "secrets") << "second\n\n# old\nthird\n";
  setenv("TERN_TEST_SECRETS", "fourth\n", 1);
  Config c;
  c.auth.users = {{"alice", "pw", "", ""}};
  c.auth.secrets = {"first"};
  c.auth.users_file = (dir / "users").string();
  c.auth.secrets_file = (dir / "secrets").string();
  c.auth.secrets_env = "TERN_TEST_SECRETS";
  auto creds = load_credentials(c);
  EXPECT_TRUE(creds.errors.empty());
  ASSERT_EQ(creds.users.size(), 2u);
  EXPECT_EQ(creds.users[1].name, "bob");
  EXPECT_EQ(creds.secrets, (std::vector<std::string>{"first", "second", "third", "fourth"}));
  c.auth.users_env = "TERN_TEST_UNSET_VARIABLE";
  c.auth.users_file = (dir / "missing").string();
  EXPECT_EQ(load_credentials(c).errors.size(), 2u);
  unsetenv("TERN_TEST_SECRETS");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern::config
