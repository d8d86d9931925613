// Conversions between sockaddr and protocol::TransportAddress.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include "tern/protocol/address.hpp"

namespace tern::net {

protocol::TransportAddress from_sockaddr(const sockaddr* sa) noexcept;
socklen_t to_sockaddr(const protocol::TransportAddress& a, sockaddr_storage& out) noexcept;

}  // namespace tern::net
