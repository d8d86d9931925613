// Config → net::RuntimeOptions: listeners, TLS (first-run self-signed), relay, core policies.
#include "runtime_options.hpp"

#include <stdexcept>

#include "config/credential_files.hpp"
#include "config/loader.hpp"
#include "net/tls.hpp"
#include "tern/auth/access_token.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/core/peer_policy.hpp"
#include "tern/core/quota.hpp"
#include "tern/core/rate_limit.hpp"

namespace tern::app {
namespace {

core::Transport transport_of(const std::string& name) {
  if (name == "tcp") return core::Transport::kTcp;
  if (name == "tls") return core::Transport::kTls;
  if (name == "dtls") return core::Transport::kDtls;
  if (name == "any") return core::Transport::kTls;  // a shared port: TLS and the rest
  return core::Transport::kUdp;
}

// "IP:port" or "[IPv6]:port" (the loader has checked the port's syntax).
core::ServerOptions core_options(const config::Config& c) {
  core::ServerOptions o;
  o.software = c.software;
  o.rfc3489 = c.stun.rfc3489;
  o.realm = c.realm;
  o.max_lifetime = c.limits.max_allocation_lifetime;
  o.permissions_per_allocation = c.limits.permissions_per_allocation;
  o.channels_per_allocation = c.limits.channels_per_allocation;
  o.strict_expiry = c.auth.strict_expiry;
  for (const auto& server : c.alternate_servers) {
    protocol::TransportAddress a;
    if (protocol::TransportAddress::parse(server, a)) o.alternate_servers.push_back(a);
  }
  o.unauthenticated_replies_per_second = c.limits.unauthenticated_replies_per_second;
  o.unauthenticated_reply_burst = c.limits.unauthenticated_reply_burst;
  if (c.relay.rfc5766_channels) o.max_channel = protocol::kMaxChannelRfc5766;
  o.tcp_relay = c.relay.tcp;
  o.mobility = c.relay.mobility;
  o.permission_lifetime = c.relay.permission_lifetime;
  o.channel_lifetime = c.relay.channel_lifetime;
  o.tcp_connections = {c.limits.tcp_connections_per_allocation, c.limits.tcp_connections_total};
  core::ServerOptions::NatDiscovery nd;
  if (protocol::TransportAddress::parse(c.stun.nat_discovery_primary, nd.primary) &&
      protocol::TransportAddress::parse(c.stun.nat_discovery_alternate, nd.alternate)) {
    o.nat_discovery = nd;
  }
  return o;
}

// RFC 5780 needs UDP listeners on both IPs at both ports; the config names IP1:P1 (a listen
// entry) and IP2:P2, so tern adds the other three.
void add_nat_discovery_listeners(const core::ServerOptions& core,
                                 std::vector<net::ListenerSpec>& listeners) {
  if (!core.nat_discovery) return;
  const auto& one = core.nat_discovery->primary;
  const auto& two = core.nat_discovery->alternate;
  const auto ip = [](const protocol::TransportAddress& a) {
    const std::string s = a.to_string();
    return a.family == protocol::Family::kIPv6 ? s.substr(1, s.rfind(']') - 1)
                                               : s.substr(0, s.rfind(':'));
  };
  for (const auto& [host, port] :
       {std::pair{ip(one), two.port}, std::pair{ip(two), one.port}, std::pair{ip(two), two.port}}) {
    listeners.push_back({core::Transport::kUdp, host, port});
  }
}

}  // namespace

core::QuotaLimits quota_limits(const config::Config& c) {
  return {c.limits.allocations_per_user, c.limits.allocations_per_source_ip,
          c.limits.allocations_total};
}

BuiltDeps build_deps(const config::Config& c) {
  BuiltDeps out;
  auto credentials = config::load_credentials(c);
  out.errors = credentials.errors;
  std::vector<auth::StaticUser> users;
  for (const auto& u : credentials.users) {
    users.push_back({u.name, u.password, u.key, u.sha256_key});
  }
  auto store = auth::CredentialStore::build(c.realm, users, credentials.secrets);
  for (auto& e : store.errors) out.errors.push_back("auth: " + e);
  out.users = users.size();
  out.secrets = credentials.secrets.size();
  auto policy = core::PeerPolicy::build(c.peers.deny, c.peers.allow);
  for (auto& e : policy.errors) out.errors.push_back("peers: " + e);
  std::vector<auth::OAuthKeyring::Entry> oauth_keys;
  for (const auto& k : c.auth.oauth.keys) oauth_keys.push_back({k.kid, k.algorithm, k.key});
  auto keyring = auth::OAuthKeyring::build(
      c.auth.oauth.server_name.empty() ? c.realm : c.auth.oauth.server_name, oauth_keys);
  for (auto& e : keyring.errors) out.errors.push_back("auth: " + e);
  if (!out.errors.empty()) return out;
  if (!keyring.keyring->empty()) {
    out.deps.oauth = std::make_shared<const auth::OAuthKeyring>(std::move(*keyring.keyring));
  }
  out.deps.credentials = std::make_shared<const auth::CredentialStore>(std::move(*store.store));
  out.deps.peers = std::make_shared<const core::PeerPolicy>(std::move(*policy.policy));
  out.deps.quota = std::make_shared<core::AllocationQuota>(quota_limits(c));
  out.deps.reply_limit = std::make_shared<core::ReplyRateLimit>(
      c.limits.unauthenticated_replies_per_second, c.limits.unauthenticated_reply_burst);
  out.credentials = std::move(credentials);
  return out;
}

net::RelayOptions relay_options(const config::Config& config) {
  net::RelayOptions relay;
  relay.address = config.relay.address;
  relay.address_v6 = config.relay.address_v6;
  relay.public_address = config.relay.public_address;
  relay.min_port = config.relay.min_port;
  relay.max_port = config.relay.max_port;
  relay.extra_addresses = config.relay.extra_addresses;
  relay.multiplex_port = config.relay.multiplex_port;
  return relay;
}

net::RuntimeOptions to_runtime_options(const config::Config& config,
                                       config::Credentials* credentials) {
  net::RuntimeOptions options;
  auto built = build_deps(config);
  if (!built.errors.empty()) {
    std::string message = "invalid configuration:";
    for (const auto& e : built.errors) message += "\n  " + e;
    throw std::runtime_error(message);
  }
  options.deps = std::move(built.deps);
  if (credentials != nullptr) *credentials = std::move(built.credentials);
  options.core = core_options(config);
  options.workers = config.workers;
  options.coalesce = std::chrono::microseconds(config.coalesce_us);
  options.steering = {config.steering.mode == config::SteeringMode::kPack,
                      config.steering.pack_allocations, config.steering.pack_busy_percent / 100.0};
  options.offload.mode = config.relay.offload == config::OffloadMode::kOff
                             ? net::OffloadOptions::Mode::kOff
                         : config.relay.offload == config::OffloadMode::kRequired
                             ? net::OffloadOptions::Mode::kRequired
                             : net::OffloadOptions::Mode::kAuto;
  options.offload.interfaces = config.relay.offload_interfaces;
  options.offload.max_bindings = config.relay.offload_max_bindings;
  options.offload.xdp = config.relay.offload_xdp;
  options.relay = relay_options(config);
  bool has_tls = false;
  for (const auto& l : config.listen) {
    auto& list = l.transport == "any" ? options.shared_ports : options.listeners;
    list.push_back({transport_of(l.transport), l.address, l.port});
    has_tls = has_tls || l.transport == "tls" || l.transport == "dtls" || l.transport == "any";
  }
  has_tls = has_tls || (config.metrics_tls && !config.metrics_listen.empty());
  add_nat_discovery_listeners(options.core, options.listeners);
  options.max_connections = config.connections.max;
  options.max_connections_per_source = config.connections.per_source_ip;
  for (const auto& network : config.connections.trusted_proxies) {
    if (auto cidr = core::Cidr::parse(network)) options.trusted_proxies.push_back(*cidr);
  }
  options.stream_timeouts = {config.connections.idle_timeout, config.connections.handshake_timeout};
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
