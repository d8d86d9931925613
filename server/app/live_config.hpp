// The configuration in force, and its live reload: SIGHUP, `tern reload`, and watched files.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/credential_files.hpp"
#include "net/log.hpp"
#include "net/runtime.hpp"

namespace tern::app {

// Counters the metrics endpoint exports about reloads and credentials.
struct ReloadStats {
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::int64_t> last_success{0};  // unix seconds
  std::atomic<std::uint64_t> users{0};
  std::atomic<std::uint64_t> secrets{0};
};

class LiveConfig {
 public:
  // `path` empty = the embedded default (nothing to re-read but credential files).
  LiveConfig(std::string path, config::Config initial, const net::RuntimeOptions& options,
             net::Runtime& runtime, net::Logger& logger);

  // Re-reads the config and every file it names and applies them, or keeps what is running
  // when anything is wrong. Returns the errors (empty = applied). Main thread only.
  std::vector<std::string> reload(const std::string& cause);
  // Reloads when the config file or a file it names changed since the last look.
  void check_files();

  const config::Config& config() const noexcept { return config_; }
  // Users and secrets in force (config, files, environment), as loaded by the last reload.
  const config::Credentials& credentials() const noexcept { return credentials_; }
  const std::string& path() const noexcept { return path_; }
  std::uint64_t generation() const noexcept { return generation_; }
  ReloadStats& stats() noexcept { return stats_; }

 private:
  struct Stamp {
    bool exists = false;
    timespec mtime{};
    off_t size = 0;
    ino_t inode = 0;
    bool operator==(const Stamp& o) const noexcept;
  };
  static Stamp stamp_of(const std::string& file);
  std::vector<std::string> watched_files(const config::Config& c) const;
  void remember_stamps();
  void adopt_credentials(config::Credentials credentials);

  std::string path_;
  config::Config config_;
  config::Credentials credentials_;
  net::Runtime& runtime_;
  net::Logger& logger_;
  std::shared_ptr<core::AllocationQuota> quota_;       // the same counts across reloads
  std::shared_ptr<core::ReplyRateLimit> reply_limit_;  // the same buckets across reloads
  net::TlsFiles tls_;                                  // in force (self-signed paths resolved)
  std::map<std::string, Stamp> stamps_;
  std::uint64_t generation_ = 1;
  ReloadStats stats_;
};

}  // namespace tern::app
