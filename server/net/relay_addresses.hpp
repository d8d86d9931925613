// Works out where relay sockets bind, what they advertise and which IPs are tern's own.
#pragma once

#include "options.hpp"
#include "relay_ports.hpp"

namespace tern::net {

// Throws std::runtime_error for an unusable address. A wildcard `address` advertises
// `public_address` when set, else the host's first non-loopback IPv4 address (else 127.0.0.1);
// own IPs are then every address of the host's interfaces.
RelayAddresses resolve_relay_addresses(const RelayOptions& options);

}  // namespace tern::net
