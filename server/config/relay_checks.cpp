// relay: checks between the relay's keys, and its public address from the environment.
#include <cstdlib>

#include "config/walker.hpp"
#include "tern/protocol/address.hpp"

namespace tern::config {

// relay.public_address_env: the public address from the environment, e.g. a Kubernetes pod's
// status.hostIP through the downward API.
void load_public_address_env(Walker& w, const YAML::Node& n, Relay& relay) {
  if (relay.public_address_env.empty()) return;
  const std::string name = "relay.public_address_env: $" + relay.public_address_env;
  if (!relay.public_address.empty()) {
    w.error(n, "set relay.public_address or relay.public_address_env, not both");
    return;
  }
  const char* value = std::getenv(relay.public_address_env.c_str());
  if (value == nullptr || *value == '\0') {
    w.error(n, name + " is not set");
  } else if (!is_ip(value)) {
    w.error(n, name + " must hold an IP address (got '" + value + "')");
  } else {
    relay.public_address = value;
  }
}

// relay.extra_addresses: concrete IPs, each once, next to a concrete relay.address (or
// address_v6) of the same family, and advertised as themselves (no NAT mapping).
void check_extra_addresses(Walker& w, const YAML::Node& n, const Relay& relay) {
  std::vector<protocol::TransportAddress> seen;
  auto note = [&](const std::string& text) {
    protocol::TransportAddress a;
    if (protocol::TransportAddress::parse_ip(text, a)) seen.push_back(a);
  };
  note(relay.address);
  note(relay.address_v6);
  const std::size_t primaries = seen.size();
  for (const auto& text : relay.extra_addresses) {
    protocol::TransportAddress a;
    if (!protocol::TransportAddress::parse_ip(text, a)) {
      w.error(n, "relay.extra_addresses: not an IP address: '" + text + "'");
      continue;
    }
    if (a.ip == std::array<std::uint8_t, 16>{}) {
      w.error(n, "relay.extra_addresses: '" + text + "' is a wildcard; name the host's addresses");
      continue;
    }
    bool primary_of_family = false;
    for (std::size_t i = 0; i < primaries; ++i) {
      primary_of_family = primary_of_family || seen[i].family == a.family;
      if (seen[i].family == a.family && seen[i].ip == std::array<std::uint8_t, 16>{}) {
        w.error(n, "relay.extra_addresses: '" + text + "' needs relay.address" +
                       (a.family == protocol::Family::kIPv6 ? "_v6" : "") +
                       " set to one of the host's addresses, not a wildcard");
      }
    }
    if (!primary_of_family)
      w.error(n, "relay.extra_addresses: '" + text + "' needs relay.address_v6");
    for (const auto& other : seen) {
      if (other.family == a.family && other.ip == a.ip) {
        w.error(n, "relay.extra_addresses: '" + text + "' appears twice");
      }
    }
    seen.push_back(a);
  }
  if (!relay.extra_addresses.empty() && !relay.public_address.empty()) {
    w.error(n,
            "relay.extra_addresses are advertised as themselves: set relay.public_address "
            "(or public_address_env) only without them");
  }
}

// relay.multiplex_port: below or above the relay port range (which TCP relays still use), and
// not with what needs a socket per allocation: mobility (a move to another worker would change
// the relayed address), a required kernel relay, or more relay IPs.
void check_multiplex_port(Walker& w, const YAML::Node& n, const Relay& relay) {
  if (relay.multiplex_port == 0) return;
  const std::string name = "relay.multiplex_port " + std::to_string(relay.multiplex_port);
  if (relay.multiplex_port % 2 != 0) {
    w.error(n, name +
                   " must be even (worker i uses it + 2i: every relayed port is even, as "
                   "EVEN-PORT asks)");
  }
  if (relay.multiplex_port >= relay.min_port && relay.multiplex_port <= relay.max_port) {
    w.error(n, name + " lies in the relay port range (relay.min_port .. relay.max_port)");
  }
  if (relay.mobility) {
    w.error(n, name +
                   " cannot go with relay.mobility: a moved allocation would change its "
                   "relayed address");
  }
  if (relay.offload == OffloadMode::kRequired) {
    w.error(n, name +
                   " cannot go with relay.offload: required (the kernel relay needs a "
                   "socket per allocation)");
  }
  if (!relay.extra_addresses.empty()) {
    w.error(n, name + " cannot go with relay.extra_addresses: shared sockets need no more ports");
  }
}

}  // namespace tern::config
