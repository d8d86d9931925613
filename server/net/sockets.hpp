// Opening listening sockets with SO_REUSEPORT so every worker can bind the same port.
#pragma once

#include "options.hpp"

namespace tern::net {

// A bound (and, for TCP/TLS, listening) non-blocking socket for `spec` on `port`.
// Throws std::runtime_error with the listener and the OS error on failure.
int open_listener_socket(const ListenerSpec& spec, unsigned short port);
// The address and port a socket is bound to.
protocol::TransportAddress local_address(int fd);
unsigned short bound_port(int fd);

}  // namespace tern::net
