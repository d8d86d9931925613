// What the kernel relay needs to know of the host: its IPv4 addresses, the source address a
// socket sends from, and a line of a /proc or /sys file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::offload {

std::string read_line(const std::string& path);          // the first line, or "" when unreadable
std::uint32_t ip4(const protocol::TransportAddress& a);  // network order
bool is_wildcard(const protocol::TransportAddress& a);
// The host's IPv4 addresses but loopback ones (a wildcard socket's datagrams arrive on any).
std::vector<std::uint32_t> host_ipv4();
// The address a socket bound to `local` sends to `to` from: its own, or for a wildcard one the
// route's choice (as connect() makes it); 0 when there is no route.
std::uint32_t source_for(const protocol::TransportAddress& local,
                         const protocol::TransportAddress& to);

}  // namespace tern::offload
