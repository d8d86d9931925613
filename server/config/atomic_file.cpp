// Atomic, private file writes: a 0600 temporary, write, fsync, rename or link, fsync the directory.
#include "config/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::config {
namespace {

std::string failed(const std::string& what, const std::string& path) {
  return "cannot " + what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void sync_directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string write_file_atomically(const std::string& path, std::string_view text,
                                  IfExists if_exists, mode_t mode) {
  // One temporary name per file (per process for kKeep): a write killed midway leaves at most
  // that one file, private, and the next write reuses it.
  const std::string tmp =
      path + (if_exists == IfExists::kKeep ? ".tmp." + std::to_string(::getpid()) : ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return failed("create", tmp);
  std::string error;
  if (::fchmod(fd, mode & 0600) != 0) {
    error = failed("set the mode of", tmp);
  } else if (!write_all(fd, text)) {
    error = failed("write", tmp);
  } else if (::fsync(fd) != 0) {
    error = failed("sync", tmp);
  }
  if (::close(fd) != 0 && error.empty()) error = failed("write", tmp);
  if (error.empty()) {
    if (if_exists == IfExists::kReplace) {
      if (::rename(tmp.c_str(), path.c_str()) != 0) error = failed("replace", path);
    } else if (::link(tmp.c_str(), path.c_str()) != 0) {
      error = errno == EEXIST ? "" : failed("create", path);
    }
  }
  if (!error.empty() || if_exists == IfExists::kKeep) ::unlink(tmp.c_str());
  if (error.empty()) sync_directory_of(path);
  return error;
}

}  // namespace tern::config
