// Start-up checks of the relay address an operator would otherwise find only when calls fail.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"
#include "net/relay_addresses.hpp"

namespace tern::app {

// A warning when the address tern advertises in XOR-RELAYED-ADDRESS is private (RFC 1918,
// shared CGNAT space, IPv6 unique-local or link-local) and relay.public_address is not set:
// behind a 1:1 NAT (a cloud VM) peers outside cannot reach it, and calls that need the relay
// on one side only fail. Loopback is taken as deliberate (a test on one machine).
std::optional<std::string> private_relay_warning(const net::RelayAddresses& addresses,
                                                 const config::Config& config);

// The same check for `tern check-config`: resolves the relay addresses as `serve` would.
std::optional<std::string> private_relay_warning(const config::Config& config);

}  // namespace tern::app
