// Turns the loaded config into the network layer's plain options and the core's policies.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/credential_files.hpp"
#include "net/options.hpp"
#include "tern/core/quota.hpp"

namespace tern::app {

// Credentials, peer policy and quotas built from the config; errors say what is wrong.
struct BuiltDeps {
  core::ServerDeps deps;
  std::vector<std::string> errors;
  std::size_t users = 0;  // loaded, for metrics
  std::size_t secrets = 0;
  config::Credentials credentials;  // the users and secrets the store was built from
};
BuiltDeps build_deps(const config::Config& config);
// The allocation quotas of `config.limits`.
core::QuotaLimits quota_limits(const config::Config& config);
// Where relay sockets bind and what they advertise (`config.relay`).
net::RelayOptions relay_options(const config::Config& config);

// Generates a self-signed certificate when a TLS listener has no cert_file. Throws
// std::runtime_error on failure, with every problem in the message.
// `credentials`, when given, receives the users and secrets read for these options, so that a
// reload reads the files once.
net::RuntimeOptions to_runtime_options(const config::Config& config,
                                       config::Credentials* credentials = nullptr);

}  // namespace tern::app
