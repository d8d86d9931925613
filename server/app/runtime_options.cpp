// Config → net::RuntimeOptions, including the first-run self-signed certificate.
#include "runtime_options.hpp"

#include "config/loader.hpp"
#include "net/tls.hpp"

namespace tern::app {
namespace {

core::Transport transport_of(const std::string& name) {
  if (name == "tcp") return core::Transport::kTcp;
  if (name == "tls") return core::Transport::kTls;
  return core::Transport::kUdp;
}

}  // namespace

net::RuntimeOptions to_runtime_options(const config::Config& config) {
  net::RuntimeOptions options;
  options.workers = config.workers;
  bool has_tls = false;
  for (const auto& l : config.listen) {
    options.listeners.push_back({transport_of(l.transport), l.address, l.port});
    has_tls = has_tls || l.transport == "tls";
  }
  options.max_connections = config.connections.max;
  options.idle_timeout = config.connections.idle_timeout;
  options.core.software = config.software;
  options.core.rfc3489 = config.stun.rfc3489;
  options.tls.tls13_only = config.tls.min_version == "1.3";
  if (has_tls) {
    if (config.tls.cert_file.empty()) {
      const auto files = net::ensure_self_signed(config::resolve_state_dir(config));
      options.tls.cert_file = files.cert_file;
      options.tls.key_file = files.key_file;
    } else {
      options.tls.cert_file = config.tls.cert_file;
      options.tls.key_file = config.tls.key_file;
    }
  }
  return options;
}

}  // namespace tern::app
