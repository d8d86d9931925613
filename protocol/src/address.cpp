// TransportAddress text conversions.
#include "tern/protocol/address.hpp"

#include <arpa/inet.h>

namespace tern::protocol {

TransportAddress TransportAddress::v4(std::uint32_t host_order_ip, std::uint16_t port) noexcept {
  TransportAddress a;
  a.family = Family::kIPv4;
  a.ip[0] = static_cast<std::uint8_t>(host_order_ip >> 24);
  a.ip[1] = static_cast<std::uint8_t>(host_order_ip >> 16);
  a.ip[2] = static_cast<std::uint8_t>(host_order_ip >> 8);
  a.ip[3] = static_cast<std::uint8_t>(host_order_ip);
  a.port = port;
  return a;
}

bool TransportAddress::parse_ip(const std::string& text, TransportAddress& out) noexcept {
  TransportAddress a;
  if (inet_pton(AF_INET, text.c_str(), a.ip.data()) == 1) {
    a.family = Family::kIPv4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.ip.data()) == 1) {
    a.family = Family::kIPv6;
  } else {
    return false;
  }
  a.port = out.port;
  out = a;
  return true;
}

bool TransportAddress::parse(const std::string& text, TransportAddress& out) noexcept {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size() || text.size() - colon > 6) {
    return false;
  }
  unsigned port = 0;
  for (std::size_t i = colon + 1; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    port = port * 10 + static_cast<unsigned>(text[i] - '0');
  }
  if (port > 65535) return false;
  std::string host = text.substr(0, colon);
  const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  TransportAddress a;
  if (!parse_ip(host, a) || (a.family == Family::kIPv6) != bracketed) return false;
  a.port = static_cast<std::uint16_t>(port);
  out = a;
  return true;
}

std::string TransportAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  const bool v4 = family == Family::kIPv4;
  inet_ntop(v4 ? AF_INET : AF_INET6, ip.data(), buf, sizeof buf);
  // Appends into one string: GCC 12's -Wrestrict misfires on chained operator+ at -O3.
  std::string s;
  s.reserve(INET6_ADDRSTRLEN + 8);
  if (!v4) s.push_back('[');
  s.append(buf);
  if (!v4) s.push_back(']');
  s.push_back(':');
  s.append(std::to_string(port));
  return s;
}

}  // namespace tern::protocol
