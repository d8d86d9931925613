// The host's addresses and routes as the kernel relay sees them.
#include "host_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>

namespace tern::offload {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::uint32_t ip4(const protocol::TransportAddress& a) {
  std::uint32_t v = 0;
  std::memcpy(&v, a.ip.data(), 4);
  return v;
}

bool is_wildcard(const protocol::TransportAddress& a) {
  return ip4(a) == 0;
}

std::vector<std::uint32_t> host_ipv4() {
  std::vector<std::uint32_t> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;  // loopback: never attached
    if (std::find(out.begin(), out.end(), in->sin_addr.s_addr) == out.end()) {
      out.push_back(in->sin_addr.s_addr);
    }
  }
  freeifaddrs(list);
  return out;
}

std::uint32_t source_for(const protocol::TransportAddress& local,
                         const protocol::TransportAddress& to) {
  if (!is_wildcard(local)) return ip4(local);
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(to.port);
  remote.sin_addr.s_addr = ip4(to);
  sockaddr_in chosen{};
  socklen_t length = sizeof chosen;
  std::uint32_t source = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&chosen), &length) == 0) {
    source = chosen.sin_addr.s_addr;
  }
  ::close(fd);
  return source;
}

}  // namespace tern::offload
