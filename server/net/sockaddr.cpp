// sockaddr <-> TransportAddress.
#include "sockaddr.hpp"

#include <algorithm>
#include <cstring>

namespace tern::net {

protocol::TransportAddress from_sockaddr(const sockaddr* sa) noexcept {
  protocol::TransportAddress a;
  if (sa->sa_family == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, sa, sizeof in);
    a.family = protocol::Family::kIPv4;
    std::memcpy(a.ip.data(), &in.sin_addr, 4);
    a.port = ntohs(in.sin_port);
  } else if (sa->sa_family == AF_INET6) {
    sockaddr_in6 in6{};
    std::memcpy(&in6, sa, sizeof in6);
    a.family = protocol::Family::kIPv6;
    std::memcpy(a.ip.data(), &in6.sin6_addr, 16);
    a.port = ntohs(in6.sin6_port);
  }
  return a;
}

socklen_t to_sockaddr(const protocol::TransportAddress& a, sockaddr_storage& out) noexcept {
  out = {};
  if (a.family == protocol::Family::kIPv4) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(a.port);
    std::memcpy(&in.sin_addr, a.ip.data(), 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(a.port);
  std::memcpy(&in6.sin6_addr, a.ip.data(), 16);
  std::memcpy(&out, &in6, sizeof in6);
  return sizeof in6;
}

}  // namespace tern::net
