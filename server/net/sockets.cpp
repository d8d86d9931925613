// socket/setsockopt/bind/listen for listeners, with errors an operator can act on.
#include "sockets.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sockaddr.hpp"

namespace tern::net {

int open_listener_socket(const ListenerSpec& spec, unsigned short port) {
  protocol::TransportAddress addr;
  const std::string name = std::string(core::to_string(spec.transport)) + " " + spec.address + ":" +
                           std::to_string(port);
  if (!protocol::TransportAddress::parse_ip(spec.address, addr)) {
    throw std::runtime_error("listener " + name + ": not an IP address");
  }
  addr.port = port;
  const bool udp =
      spec.transport == core::Transport::kUdp || spec.transport == core::Transport::kDtls;
  const int domain = addr.family == protocol::Family::kIPv4 ? AF_INET : AF_INET6;
  const int fd =
      ::socket(domain, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("listener " + name + ": socket: " + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (domain == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (udp) {
    const int buf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  }
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(addr, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || (!udp && ::listen(fd, 1024) != 0)) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("listener " + name + ": " + std::strerror(err));
  }
  return fd;
}

boost::asio::ip::tcp::endpoint tcp_endpoint(const protocol::TransportAddress& a) {
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(a, ss);
  boost::asio::ip::tcp::endpoint endpoint;
  std::memcpy(endpoint.data(), &ss, len);
  endpoint.resize(len);
  return endpoint;
}

protocol::TransportAddress local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
}

bool out_of_descriptors(const boost::system::error_code& ec) noexcept {
  return ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
         ec == boost::asio::error::no_memory || ec.value() == ENFILE;
}

unsigned short bound_port(int fd) {
  return local_address(fd).port;
}

}  // namespace tern::net
