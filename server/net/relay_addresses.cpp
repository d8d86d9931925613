// resolve_relay_addresses: bind, advertised and own relay IPs from the config and the host.
#include "relay_addresses.hpp"

#include <ifaddrs.h>

#include <stdexcept>

#include "sockaddr.hpp"

namespace tern::net {
namespace {

bool is_wildcard(const protocol::TransportAddress& a) {
  for (std::size_t i = 0; i < a.ip_size(); ++i) {
    if (a.ip[i] != 0) return false;
  }
  return true;
}

bool is_loopback(const protocol::TransportAddress& a) {
  if (a.family == protocol::Family::kIPv4) return a.ip[0] == 127;
  for (std::size_t i = 0; i < 15; ++i) {
    if (a.ip[i] != 0) return false;
  }
  return a.ip[15] == 1;
}

std::vector<protocol::TransportAddress> host_addresses() {
  std::vector<protocol::TransportAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6) continue;
    auto a = from_sockaddr(i->ifa_addr);
    a.port = 0;
    out.push_back(a);
  }
  freeifaddrs(list);
  return out;
}

protocol::TransportAddress parse(const std::string& text, const char* key) {
  protocol::TransportAddress a;
  if (!protocol::TransportAddress::parse_ip(text, a)) {
    throw std::runtime_error(std::string(key) + ": not an IP address: " + text);
  }
  a.port = 0;
  return a;
}

}  // namespace

RelayAddresses resolve_relay_addresses(const RelayOptions& options) {
  RelayAddresses r;
  r.bind_v4 = parse(options.address, "relay.address");
  if (r.bind_v4.family != protocol::Family::kIPv4) {
    throw std::runtime_error("relay.address must be an IPv4 address (use relay.address_v6)");
  }
  const auto host = host_addresses();
  r.advertised_v4 = r.bind_v4;
  if (!options.public_address.empty()) {
    r.advertised_v4 = parse(options.public_address, "relay.public_address");
  } else if (is_wildcard(r.bind_v4)) {
    r.advertised_v4 = parse("127.0.0.1", "relay.address");
    for (const auto& a : host) {
      if (a.family == protocol::Family::kIPv4 && !is_loopback(a)) {
        r.advertised_v4 = a;
        break;
      }
    }
  }
  if (!options.address_v6.empty()) {
    r.bind_v6 = parse(options.address_v6, "relay.address_v6");
    if (r.bind_v6->family != protocol::Family::kIPv6) {
      throw std::runtime_error("relay.address_v6 must be an IPv6 address");
    }
    r.advertised_v6 = *r.bind_v6;
    if (is_wildcard(*r.bind_v6)) {
      r.advertised_v6 = parse("::1", "relay.address_v6");
      for (const auto& a : host) {
        if (a.family == protocol::Family::kIPv6 && !is_loopback(a) && a.ip[0] != 0xfe) {
          r.advertised_v6 = a;
          break;
        }
      }
    }
  }
  for (const auto& text : options.extra_addresses) {
    r.extra.push_back(parse(text, "relay.extra_addresses"));
    if (r.extra.back().family == protocol::Family::kIPv6 && !r.bind_v6) {
      throw std::runtime_error("relay.extra_addresses: " + text + " needs relay.address_v6");
    }
  }
  r.own_ips.push_back(r.advertised_v4);
  r.own_ips.insert(r.own_ips.end(), r.extra.begin(), r.extra.end());
  if (!is_wildcard(r.bind_v4)) r.own_ips.push_back(r.bind_v4);
  if (r.advertised_v6) r.own_ips.push_back(*r.advertised_v6);
  if (r.bind_v6 && !is_wildcard(*r.bind_v6)) r.own_ips.push_back(*r.bind_v6);
  if (is_wildcard(r.bind_v4) || (r.bind_v6 && is_wildcard(*r.bind_v6))) {
    r.own_ips.insert(r.own_ips.end(), host.begin(), host.end());
  }
  return r;
}

}  // namespace tern::net
