// LiveConfig: load, validate, rebuild policies and apply them on every worker, or keep the old.
#include "live_config.hpp"

#include <chrono>

#include "config/credential_files.hpp"
#include "config/loader.hpp"
#include "runtime_options.hpp"
#include "tern/core/quota.hpp"

namespace tern::app {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool same_listeners(const config::Config& a, const config::Config& b) {
  // RFC 5780's addresses bring listeners of their own.
  if (a.stun.nat_discovery_primary != b.stun.nat_discovery_primary ||
      a.stun.nat_discovery_alternate != b.stun.nat_discovery_alternate) {
    return false;
  }
  if (a.listen.size() != b.listen.size()) return false;
  for (std::size_t i = 0; i < a.listen.size(); ++i) {
    const auto& x = a.listen[i];
    const auto& y = b.listen[i];
    if (x.transport != y.transport || x.address != y.address || x.port != y.port) return false;
  }
  return true;
}

}  // namespace

bool LiveConfig::Stamp::operator==(const Stamp& o) const noexcept {
  return exists == o.exists && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
         size == o.size && inode == o.inode;
}

LiveConfig::LiveConfig(std::string path, config::Config initial, const net::RuntimeOptions& options,
                       net::Runtime& runtime, net::Logger& logger)
    : path_(std::move(path)),
      config_(std::move(initial)),
      runtime_(runtime),
      logger_(logger),
      quota_(options.deps.quota),
      reply_limit_(options.deps.reply_limit),
      tls_(options.tls) {
  remember_stamps();
  adopt_credentials(config::load_credentials(config_));
  stats_.last_success = unix_now();
}

LiveConfig::Stamp LiveConfig::stamp_of(const std::string& file) {
  struct stat st {};
  Stamp s;
  if (::stat(file.c_str(), &st) != 0) return s;  // follows symlinks: Kubernetes Secret updates
  s.exists = true;
  s.mtime = st.st_mtim;
  s.size = st.st_size;
  s.inode = st.st_ino;
  return s;
}

std::vector<std::string> LiveConfig::watched_files(const config::Config& c) const {
  std::vector<std::string> files;
  for (const auto* f :
       {&path_, &c.auth.users_file, &c.auth.secrets_file, &tls_.cert_file, &tls_.key_file}) {
    if (!f->empty()) files.push_back(*f);
  }
  return files;
}

void LiveConfig::remember_stamps() {
  stamps_.clear();
  for (const auto& f : watched_files(config_)) stamps_[f] = stamp_of(f);
}

void LiveConfig::adopt_credentials(config::Credentials credentials) {
  credentials_ = std::move(credentials);
  stats_.users = credentials_.users.size();
  stats_.secrets = credentials_.secrets.size();
}

void LiveConfig::check_files() {
  for (const auto& [file, stamp] : stamps_) {
    if (stamp_of(file) == stamp) continue;
    reload("file changed: " + file);
    return;
  }
}

std::vector<std::string> LiveConfig::reload(const std::string& cause) {
  auto loaded = path_.empty() ? config::load_config_string(config::embedded_default_config(),
                                                           "<embedded default>")
                              : config::load_config_file(path_);
  std::vector<std::string> errors;
  for (const auto& e : loaded.errors) {
    std::string where = e.file;
    if (e.line > 0) where.append(":").append(std::to_string(e.line));
    errors.push_back(where.append(": ").append(e.message));
  }
  net::Runtime::Reconfiguration change;
  config::Credentials credentials;  // read once, for the workers and for this object
  net::TlsFiles next_tls = tls_;
  std::vector<net::ListenerSpec> listeners;
  if (errors.empty()) {
    try {
      net::RuntimeOptions options = to_runtime_options(*loaded.config, &credentials);
      const bool tls_changed = options.tls.cert_file != tls_.cert_file ||
                               options.tls.key_file != tls_.key_file ||
                               !(stamp_of(tls_.cert_file) == stamps_[tls_.cert_file]) ||
                               !(stamp_of(tls_.key_file) == stamps_[tls_.key_file]);
      change.core = options.core;
      change.deps = options.deps;
      change.max_connections = options.max_connections;
      change.max_connections_per_source = options.max_connections_per_source;
      change.trusted_proxies = options.trusted_proxies;
      change.deps.quota = quota_;
      change.deps.reply_limit = reply_limit_;  // its rate comes with change.core
      quota_->set_limits(quota_limits(*loaded.config));
      if (tls_changed && !options.tls.cert_file.empty()) change.tls = options.tls;
      next_tls = options.tls;
      listeners = options.listeners;
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }
  if (errors.empty()) {
    try {
      std::size_t listeners_changed = 0;
      if (!same_listeners(config_, *loaded.config)) {
        listeners_changed = runtime_.update_listeners(listeners);  // throws: nothing changed
      }
      const std::size_t ended = runtime_.reconfigure(change);
      config_ = std::move(*loaded.config);
      tls_ = next_tls;
      remember_stamps();
      adopt_credentials(std::move(credentials));
      ++generation_;
      ++stats_.succeeded;
      stats_.last_success = unix_now();
      logger_.log(net::LogLevel::kInfo, "config_reloaded",
                  {{"cause", cause},
                   {"generation", std::to_string(generation_)},
                   {"users", std::to_string(stats_.users.load())},
                   {"secrets", std::to_string(stats_.secrets.load())},
                   {"tls_reloaded", change.tls ? "true" : "false"},
                   {"listeners_changed", std::to_string(listeners_changed)},
                   {"allocations_ended", std::to_string(ended)}});
      return {};
    } catch (const std::exception& e) {
      errors.push_back(e.what());
    }
  }
  ++stats_.failed;
  remember_stamps();  // do not retry the same broken files every tick
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
  logger_.log(net::LogLevel::kError, "config_reload_failed",
              {{"cause", cause},
               {"errors", joined},
               {"detail", "the running configuration stays in force"}});
  return errors;
}

}  // namespace tern::app
