// Opening listening sockets with SO_REUSEPORT so every worker can bind the same port.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "options.hpp"

namespace tern::net {

// A bound (and, for TCP/TLS, listening) non-blocking socket for `spec` on `port`.
// Throws std::runtime_error with the listener and the OS error on failure.
int open_listener_socket(const ListenerSpec& spec, unsigned short port);
// `a` as an Asio TCP endpoint.
boost::asio::ip::tcp::endpoint tcp_endpoint(const protocol::TransportAddress& a);
// The address and port a socket is bound to.
protocol::TransportAddress local_address(int fd);
unsigned short bound_port(int fd);
// An accept failed for want of descriptors or memory: accepting again at once would spin.
bool out_of_descriptors(const boost::system::error_code& ec) noexcept;

}  // namespace tern::net
