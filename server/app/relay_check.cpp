// private_relay_warning: the advertised relay address against the private and local ranges.
#include "relay_check.hpp"

#include <array>
#include <string_view>

#include "runtime_options.hpp"
#include "tern/core/peer_policy.hpp"

namespace tern::app {
namespace {

// Addresses only a private network reaches (RFC 1918, RFC 6598, RFC 4193, RFC 4291 §2.5.6).
constexpr std::array<std::string_view, 7> kPrivate = {
    "10.0.0.0/8",     "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "fc00::/7",      "fe80::/10"};

bool is_private(const protocol::TransportAddress& a) {
  for (std::string_view text : kPrivate) {
    if (auto c = core::Cidr::parse(text); c && c->contains(a)) return true;
  }
  return false;
}

std::string ip_only(const protocol::TransportAddress& a) {
  std::string s = a.to_string();  // "ip:0" or "[v6]:0"
  s.resize(s.rfind(':'));
  if (!s.empty() && s.front() == '[') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

std::optional<std::string> private_relay_warning(const net::RelayAddresses& addresses,
                                                 const config::Config& config) {
  if (!config.relay.public_address.empty()) return std::nullopt;
  std::vector<protocol::TransportAddress> advertised = {addresses.advertised_v4};
  if (addresses.advertised_v6) advertised.push_back(*addresses.advertised_v6);
  advertised.insert(advertised.end(), addresses.extra.begin(), addresses.extra.end());
  for (const auto& a : advertised) {
    if (!is_private(a)) continue;
    return "relay address " + ip_only(a) +
           " is private and relay.public_address is not set: clients and peers outside this "
           "network cannot reach relayed addresses on it, so calls that need the relay fail. "
           "Behind a 1:1 NAT (a cloud VM), set relay.public_address to the public IP.";
  }
  return std::nullopt;
}

std::optional<std::string> private_relay_warning(const config::Config& config) {
  try {
    return private_relay_warning(net::resolve_relay_addresses(relay_options(config)), config);
  } catch (const std::exception&) {
    return std::nullopt;  // the address itself is wrong: check-config reports that elsewhere
  }
}

}  // namespace tern::app
