// write_file_atomically: private from the first byte, replaces or keeps, leaves nothing behind.
#include "config/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tern::config {
namespace {

namespace fs = std::filesystem;

class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tern-atomic-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static unsigned mode(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 07777;
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }

  fs::path dir_;
};

TEST_F(AtomicFile, WritesAPrivateFileAndLeavesNoTemporary) {
  const auto umask_before = ::umask(0);
  const auto path = dir_ / "users";
  EXPECT_EQ(write_file_atomically(path, "alice\n"), "");
  ::umask(umask_before);
  EXPECT_EQ(read(path), "alice\n");
  EXPECT_EQ(mode(path), 0600u);
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, ReplacesOrKeeps) {
  const auto path = dir_ / "secret";
  ASSERT_EQ(write_file_atomically(path, "first\n"), "");
  EXPECT_EQ(write_file_atomically(path, "second\n", IfExists::kKeep), "");
  EXPECT_EQ(read(path), "first\n");  // the first of two racing writers wins
  EXPECT_EQ(write_file_atomically(path, "third\n"), "");
  EXPECT_EQ(read(path), "third\n");
  EXPECT_EQ(entries(), 1u);
}

TEST_F(AtomicFile, FailureNamesThePathAndTouchesNothing) {
  const auto missing = dir_ / "no-such-dir" / "users";
  const auto error = write_file_atomically(missing, "x\n");
  EXPECT_NE(error.find(missing.string()), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  // The target is a directory: the rename fails, the temporary file is removed.
  fs::create_directories(dir_ / "taken");
  EXPECT_NE(write_file_atomically(dir_ / "taken", "x\n"), "");
  EXPECT_EQ(entries(), 1u);
}

}  // namespace
}  // namespace tern::config
