// YAML config loader: walks the document once, converting known keys and reporting the rest.
#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "config/walker.hpp"
#include "tern/protocol/address.hpp"

namespace tern::config {
namespace {

bool is_ip_port(const std::string& text) {
  protocol::TransportAddress ignored;
  return protocol::TransportAddress::parse(text, ignored);
}

// stun.nat_discovery: two addresses of one family that differ in IP and in port, the first
// one a UDP listener's.
void check_nat_discovery(Walker& w, const YAML::Node& root, const Config& c) {
  const auto& s = c.stun;
  if (s.nat_discovery_primary.empty() && s.nat_discovery_alternate.empty()) return;
  protocol::TransportAddress one, two;
  if (!protocol::TransportAddress::parse(s.nat_discovery_primary, one) ||
      !protocol::TransportAddress::parse(s.nat_discovery_alternate, two)) {
    return w.error(root, "stun.nat_discovery needs primary and alternate, each IP:port");
  }
  if (one.family != two.family || one.ip == two.ip || one.port == two.port || one.port == 0) {
    return w.error(root,
                   "stun.nat_discovery: primary and alternate must be of one IP family and "
                   "differ in both IP address and port (RFC 5780 §3)");
  }
  for (const auto& l : c.listen) {
    protocol::TransportAddress a;
    if (l.transport == "udp" && protocol::TransportAddress::parse_ip(l.address, a) &&
        a.ip == one.ip && a.family == one.family && l.port == one.port) {
      return;
    }
  }
  w.error(root, "stun.nat_discovery.primary (" + s.nat_discovery_primary +
                    ") must be the address and port of a udp listen entry");
}

void load_listen(Walker& w, const YAML::Node& n, std::vector<Listen>& out) {
  out.clear();
  if (n.IsNull()) return;
  if (!n.IsSequence()) return w.error(n, "listen must be a list of {transport, address, port}");
  for (const auto& item : n) {
    Listen l;
    bool has_port = false;
    w.map(item, "listen entry",
          {{"transport", w.string(l.transport, "listen.transport")},
           {"address", w.string(l.address, "listen.address")},
           {"port", [&](const YAML::Node& p) {
              has_port = true;
              w.number(l.port, "listen.port", 0, 65535)(p);
            }}});
    if (!item.IsMap()) continue;
    check_one_of(w, item, l.transport, {"udp", "tcp", "tls", "dtls", "any"}, "listen.transport");
    if (!is_ip(l.address))
      w.error(item, "listen.address must be an IP address, got '" + l.address + "'");
    if (!has_port) w.error(item, "listen entry needs a port");
    // Two sockets on one address and port would both bind (SO_REUSEPORT) and split clients
    // between them at random.
    const bool datagram = l.transport == "udp" || l.transport == "dtls";
    for (const auto& other : out) {
      const bool other_datagram = other.transport == "udp" || other.transport == "dtls";
      if (l.port != 0 && l.port == other.port && l.address == other.address &&
          datagram == other_datagram) {
        w.error(item, "listen: " + l.transport + " " + l.address + ":" + std::to_string(l.port) +
                          " takes the same " + (datagram ? "UDP" : "TCP") + " port as " +
                          other.transport);
      }
    }
    out.push_back(l);
  }
}

void load_root(Walker& w, const YAML::Node& root, Config& c) {
  w.map(
      root, "the config",
      {{"realm", w.string(c.realm, "realm")},
       {"software", w.string(c.software, "software")},
       {"workers", w.number(c.workers, "workers", 0, 256)},
       {"coalesce_us", w.number(c.coalesce_us, "coalesce_us", 0, 1000)},
       {"steering",
        [&](const YAML::Node& n) {
          auto& st = c.steering;
          w.map(n, "steering",
                {{"mode",
                  [&](const YAML::Node& m) {
                    std::string text;
                    w.string(text, "steering.mode")(m);
                    if (m.IsScalar()) check_one_of(w, m, text, {"pack", "hash"}, "steering.mode");
                    st.mode = text == "hash" ? SteeringMode::kHash : SteeringMode::kPack;
                  }},
                 {"pack_allocations",
                  w.number(st.pack_allocations, "steering.pack_allocations", 1, 10000000)},
                 {"pack_busy_percent",
                  w.number(st.pack_busy_percent, "steering.pack_busy_percent", 1, 100)}});
        }},
       {"state_dir", w.string(c.state_dir, "state_dir")},
       {"listen", [&](const YAML::Node& n) { load_listen(w, n, c.listen); }},
       {"tls",
        [&](const YAML::Node& n) {
          w.map(n, "tls",
                {{"cert_file", w.string(c.tls.cert_file, "tls.cert_file")},
                 {"key_file", w.string(c.tls.key_file, "tls.key_file")},
                 {"min_version", w.string(c.tls.min_version, "tls.min_version")}});
          check_one_of(w, n, c.tls.min_version, {"1.2", "1.3"}, "tls.min_version");
          if (c.tls.cert_file.empty() != c.tls.key_file.empty()) {
            w.error(n, "tls needs both cert_file and key_file, or neither (self-signed)");
          }
        }},
       {"relay",
        [&](const YAML::Node& n) {
          w.map(
              n, "relay",
              {{"address", w.string(c.relay.address, "relay.address")},
               {"address_v6", w.string(c.relay.address_v6, "relay.address_v6")},
               {"extra_addresses", w.string_list(c.relay.extra_addresses, "relay.extra_addresses")},
               {"public_address", w.string(c.relay.public_address, "relay.public_address")},
               {"public_address_env",
                w.string(c.relay.public_address_env, "relay.public_address_env")},
               {"min_port", w.number(c.relay.min_port, "relay.min_port", 1, 65535)},
               {"max_port", w.number(c.relay.max_port, "relay.max_port", 1, 65535)},
               {"multiplex_port",
                w.number(c.relay.multiplex_port, "relay.multiplex_port", 0, 65535)},
               {"rfc5766_channels", w.boolean(c.relay.rfc5766_channels, "relay.rfc5766_channels")},
               {"tcp", w.boolean(c.relay.tcp, "relay.tcp")},
               {"mobility", w.boolean(c.relay.mobility, "relay.mobility")},
               {"permission_lifetime",
                w.duration(c.relay.permission_lifetime, "relay.permission_lifetime")},
               {"channel_lifetime", w.duration(c.relay.channel_lifetime, "relay.channel_lifetime")},
               {"offload",
                [&](const YAML::Node& m) {
                  std::string text;
                  w.string(text, "relay.offload")(m);
                  if (m.IsScalar()) {
                    check_one_of(w, m, text, {"off", "auto", "required"}, "relay.offload");
                  }
                  c.relay.offload = text == "off"        ? OffloadMode::kOff
                                    : text == "required" ? OffloadMode::kRequired
                                                         : OffloadMode::kAuto;
                }},
               {"offload_hook",
                [&](const YAML::Node& m) {
                  std::string text;
                  w.string(text, "relay.offload_hook")(m);
                  if (m.IsScalar()) check_one_of(w, m, text, {"tc", "xdp"}, "relay.offload_hook");
                  c.relay.offload_xdp = text == "xdp";
                }},
               {"offload_interfaces",
                w.string_list(c.relay.offload_interfaces, "relay.offload_interfaces")},
               {"offload_max_bindings",
                w.number(c.relay.offload_max_bindings, "relay.offload_max_bindings", 1, 1048576)}});
          if (!is_ip(c.relay.address)) w.error(n, "relay.address must be an IP address");
          if (!c.relay.address_v6.empty() && !is_ip(c.relay.address_v6)) {
            w.error(n, "relay.address_v6 must be an IP address or empty");
          }
          if (!c.relay.public_address.empty() && !is_ip(c.relay.public_address)) {
            w.error(n, "relay.public_address must be an IP address or empty");
          }
          load_public_address_env(w, n, c.relay);
          check_extra_addresses(w, n, c.relay);
          check_multiplex_port(w, n, c.relay);
          if (c.relay.permission_lifetime.count() < 1 || c.relay.channel_lifetime.count() < 1) {
            w.error(n, "relay.permission_lifetime and relay.channel_lifetime must be at least 1s");
          }
          if (c.relay.min_port > c.relay.max_port) {
            w.error(n, "relay.min_port must not be above relay.max_port");
          }
        }},
       {"auth", [&](const YAML::Node& n) { load_auth(w, n, c.auth); }},
       {"limits",
        [&](const YAML::Node& n) {
          auto& l = c.limits;
          w.map(n, "limits",
                {{"allocations_per_user",
                  w.number(l.allocations_per_user, "limits.allocations_per_user", 0, 1000000)},
                 {"allocations_per_source_ip",
                  w.number(l.allocations_per_source_ip, "limits.allocations_per_source_ip", 0,
                           10000000)},
                 {"allocations_total",
                  w.number(l.allocations_total, "limits.allocations_total", 0, 10000000)},
                 {"permissions_per_allocation",
                  w.number(l.permissions_per_allocation, "limits.permissions_per_allocation", 1,
                           100000)},
                 {"channels_per_allocation",
                  w.number(l.channels_per_allocation, "limits.channels_per_allocation", 0, 4096)},
                 {"max_allocation_lifetime",
                  w.duration(l.max_allocation_lifetime, "limits.max_allocation_lifetime")},
                 {"unauthenticated_replies_per_second",
                  w.number(l.unauthenticated_replies_per_second,
                           "limits.unauthenticated_replies_per_second", 0, 1000000)},
                 {"unauthenticated_reply_burst",
                  w.number(l.unauthenticated_reply_burst, "limits.unauthenticated_reply_burst", 1,
                           1000000)},
                 {"tcp_connections_per_allocation",
                  w.number(l.tcp_connections_per_allocation,
                           "limits.tcp_connections_per_allocation", 0, 100000)},
                 {"tcp_connections_total",
                  w.number(l.tcp_connections_total, "limits.tcp_connections_total", 0, 10000000)}});
        }},
       {"peers",
        [&](const YAML::Node& n) {
          const auto deny_ok = [](const std::string& s) {
            return s == "default" || is_valid_cidr(s);
          };
          w.map(
              n, "peers",
              {{"deny", w.string_list(c.peers.deny, "peers.deny", deny_ok, "a CIDR or 'default'")},
               {"allow", w.string_list(c.peers.allow, "peers.allow", is_valid_peer_range,
                                       "a CIDR, optionally with ports (10.0.0.5:5000-5100, "
                                       "[2001:db8::5]:443)")}});
        }},
       {"alternate_servers", w.string_list(c.alternate_servers, "alternate_servers", is_ip_port,
                                           "IP:port ([v6]:port for IPv6)")},
       {"metrics",
        [&](const YAML::Node& n) {
          w.map(n, "metrics",
                {{"listen", w.string(c.metrics_listen, "metrics.listen")},
                 {"tls", w.boolean(c.metrics_tls, "metrics.tls")}});
          if (!c.metrics_listen.empty() && !is_ip_port(c.metrics_listen)) {
            w.error(n, "metrics.listen must be IP:port ([v6]:port for IPv6) or empty");
          }
        }},
       {"signaling",
        [&](const YAML::Node& n) {
          w.map(n, "signaling",
                {{"listen", w.string(c.signaling_listen, "signaling.listen")},
                 {"token", w.string(c.signaling_token, "signaling.token")},
                 {"ice_host", w.string(c.signaling_ice_host, "signaling.ice_host")},
                 {"ice_urls", w.string_list(c.signaling_ice_urls, "signaling.ice_urls", is_ice_url,
                                            "a stun:, turn: or turns: URL")},
                 {"max_connections",
                  w.number(c.signaling_max_connections, "signaling.max_connections", 1, 1000000)},
                 {"connections_per_source_ip",
                  w.number(c.signaling_connections_per_source_ip,
                           "signaling.connections_per_source_ip", 0, 1000000)}});
          if (!c.signaling_listen.empty() && !is_ip_port(c.signaling_listen)) {
            w.error(n, "signaling.listen must be IP:port ([v6]:port for IPv6) or empty");
          }
        }},
       {"admin",
        [&](const YAML::Node& n) {
          w.map(n, "admin", {{"socket", w.string(c.admin_socket, "admin.socket")}});
        }},
       {"log",
        [&](const YAML::Node& n) {
          w.map(n, "log",
                {{"level", w.string(c.log_level, "log.level")},
                 {"format", w.string(c.log_format, "log.format")}});
          check_one_of(w, n, c.log_level, {"debug", "info", "warn", "error"}, "log.level");
          check_one_of(w, n, c.log_format, {"text", "json"}, "log.format");
        }},
       {"stun",
        [&](const YAML::Node& n) {
          w.map(n, "stun",
                {{"rfc3489", w.boolean(c.stun.rfc3489, "stun.rfc3489")},
                 {"nat_discovery", [&](const YAML::Node& d) {
                    w.map(d, "stun.nat_discovery",
                          {{"primary",
                            w.string(c.stun.nat_discovery_primary, "stun.nat_discovery.primary")},
                           {"alternate", w.string(c.stun.nat_discovery_alternate,
                                                  "stun.nat_discovery.alternate")}});
                  }}});
        }},
       {"connections", [&](const YAML::Node& n) {
          w.map(
              n, "connections",
              {{"max", w.number(c.connections.max, "connections.max", 1, 10000000)},
               {"per_source_ip",
                w.number(c.connections.per_source_ip, "connections.per_source_ip", 0, 10000000)},
               {"idle_timeout", w.duration(c.connections.idle_timeout, "connections.idle_timeout")},
               {"handshake_timeout",
                w.duration(c.connections.handshake_timeout, "connections.handshake_timeout")},
               {"trusted_proxies",
                w.string_list(c.connections.trusted_proxies, "connections.trusted_proxies",
                              is_valid_cidr, "a CIDR (10.0.0.0/8, 2001:db8::/32)")}});
        }}});
  if (c.realm.empty()) w.error(root, "realm must not be empty");
  check_nat_discovery(w, root, c);
}

}  // namespace

LoadResult load_config_string(const std::string& text, const std::string& name) {
  LoadResult result;
  Walker walker(name);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    result.errors.push_back({name, e.mark.line + 1, e.mark.column + 1, e.msg});
    return result;
  }
  Config config;
  try {
    load_root(walker, root, config);
  } catch (const YAML::Exception& e) {
    walker.error(root, e.what());
  }
  result.errors = walker.take_errors();
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    LoadResult result;
    result.errors.push_back({path, 0, 0, "cannot read the file"});
    return result;
  }
  std::stringstream text;
  text << in.rdbuf();
  return load_config_string(text.str(), path);
}

}  // namespace tern::config
