// UDP and TCP socket helpers for the benchmark tools (see udp.hpp).
#include "udp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tern::bench {

std::optional<sockaddr_in> parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), &a.sin_addr) != 1) return std::nullopt;
  const unsigned long port = std::strtoul(text.c_str() + colon + 1, nullptr, 10);
  if (port == 0 || port > 65535) return std::nullopt;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  return a;
}

sockaddr_in make_sockaddr(const std::string& ip, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  a.sin_port = htons(port);
  return a;
}

protocol::TransportAddress to_transport(const sockaddr_in& a) {
  return protocol::TransportAddress::v4(ntohl(a.sin_addr.s_addr), ntohs(a.sin_port));
}

sockaddr_in to_sockaddr(const protocol::TransportAddress& t) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  std::memcpy(&a.sin_addr, t.ip.data(), 4);
  a.sin_port = htons(t.port);
  return a;
}

int open_tcp(const sockaddr_in& local, const sockaddr_in& remote, int buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The port is picked at connect time, per destination: closed connections in TIME_WAIT do
  // not use up the ephemeral range for a long allocate run.
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
  }
  // A blocking connect: on loopback the handshake completes inside the call.
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool set_non_blocking(int fd, bool on) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK) == 0;
}

int open_udp(const sockaddr_in& local, const sockaddr_in* remote, int buffer) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (buffer > 0) {
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    }
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      (remote != nullptr &&
       ::connect(fd, reinterpret_cast<const sockaddr*>(remote), sizeof *remote) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) return 0;
  return ntohs(a.sin_port);
}

unsigned long raise_fd_limit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) != 0) return 0;
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
  getrlimit(RLIMIT_NOFILE, &r);
  return static_cast<unsigned long>(r.rlim_cur);
}

std::size_t send_batch(int fd, mmsghdr* hdr, std::size_t count) {
  std::size_t sent = 0;
  while (sent < count) {
    const int n = sendmmsg(fd, hdr + sent, static_cast<unsigned>(count - sent), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (n == 0) break;
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

int in_netns(const std::string& netns, const std::function<int()>& open) {
  if (netns.empty()) return open();
  const int home = ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const int there = ::open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  int fd = -1;
  if (home >= 0 && there >= 0 && setns(there, CLONE_NEWNET) == 0) {
    fd = open();
    if (setns(home, CLONE_NEWNET) != 0) {  // cannot go back: nothing else would be right
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }
  if (home >= 0) ::close(home);
  if (there >= 0) ::close(there);
  return fd;
}

}  // namespace tern::bench
