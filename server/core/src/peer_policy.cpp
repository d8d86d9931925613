// CIDR parsing, IPv4-in-IPv6 canonicalisation and the peer deny/allow decision.
#include "tern/core/peer_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace tern::core {
namespace {

using protocol::Family;
using protocol::TransportAddress;

// RFC 6890 registries plus C.0: private, shared (CGNAT), loopback, link-local (cloud metadata
// 169.254.169.254, fd00:ec2::254), documentation, benchmarking, multicast, reserved, NAT64
// local-use, ORCHID, Teredo and 6to4.
constexpr std::string_view kDefaultDeny[] = {
    "0.0.0.0/8",          "10.0.0.0/8",      "100.64.0.0/10",  "127.0.0.0/8",    "169.254.0.0/16",
    "172.16.0.0/12",      "192.0.0.0/24",    "192.0.2.0/24",   "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15",      "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",    "240.0.0.0/4",
    "255.255.255.255/32", "::/128",          "::1/128",        "fc00::/7",       "fe80::/10",
    "fec0::/10",          "ff00::/8",        "2001:db8::/32",  "2001::/32",      "2002::/16",
    "100::/64",           "2001:2::/48",     "2001:10::/28",   "2001:20::/28",   "64:ff9b:1::/48",
};

// Never relayed to, whatever the allow list says.
constexpr std::string_view kHardDeny[] = {"0.0.0.0/8", "::/128", "2001::/32", "2002::/16"};

std::vector<Cidr> parse_fixed(std::span<const std::string_view> texts) {
  std::vector<Cidr> out;
  for (std::string_view t : texts) out.push_back(*Cidr::parse(t));
  return out;
}

const std::vector<Cidr>& hard_deny() {
  static const std::vector<Cidr> list = parse_fixed(kHardDeny);
  return list;
}

bool any_contains(const std::vector<Cidr>& list, const TransportAddress& a) noexcept {
  return std::any_of(list.begin(), list.end(), [&](const Cidr& c) { return c.contains(a); });
}

// The literal address or, for an IPv4-in-IPv6 form, its embedded IPv4 address, is listed.
bool matches(const std::vector<Cidr>& list, const TransportAddress& a,
             const std::optional<TransportAddress>& v4) noexcept {
  return any_contains(list, a) || (v4 && any_contains(list, *v4));
}

bool allow_matches(const std::vector<PeerRange>& list, const TransportAddress& a,
                   const std::optional<TransportAddress>& v4, bool any_port,
                   bool only_named_ports) noexcept {
  return std::any_of(list.begin(), list.end(), [&](const PeerRange& r) {
    if (only_named_ports && !r.names_ports()) return false;
    return r.contains(a, any_port) || (v4 && r.contains(*v4, any_port));
  });
}

// "5000" or "5000-5100" into [lo, hi]; false on anything else.
bool parse_ports(std::string_view text, std::uint16_t& lo, std::uint16_t& hi) {
  const auto dash = text.find('-');
  const auto number = [](std::string_view t, std::uint16_t& out) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc{} || end != t.data() + t.size() || t.empty() || value == 0 || value > 65535)
      return false;
    out = static_cast<std::uint16_t>(value);
    return true;
  };
  if (dash == std::string_view::npos) {
    if (!number(text, lo)) return false;
    hi = lo;
    return true;
  }
  return number(text.substr(0, dash), lo) && number(text.substr(dash + 1), hi) && lo <= hi;
}

bool starts_with(const TransportAddress& a, std::initializer_list<std::uint8_t> prefix) noexcept {
  return std::equal(prefix.begin(), prefix.end(), a.ip.begin());
}

// "10.0.0.0" or "::1": the address without brackets or port.
std::string ip_text(const TransportAddress& a) {
  std::string s = a.to_string();
  s.resize(s.rfind(':'));
  return a.family == Family::kIPv6 ? s.substr(1, s.size() - 2) : s;
}

TransportAddress v4_from(const TransportAddress& a, std::size_t offset) noexcept {
  TransportAddress v4;
  std::memcpy(v4.ip.data(), a.ip.data() + offset, 4);
  v4.port = a.port;
  return v4;
}

// "'TEXT': WHY". Out of line: inlined into parse, GCC 12 at -O3 reports a false -Wrestrict.
[[gnu::noinline]] std::string quoted_error(std::string_view text, std::string_view why) {
  std::string out;
  out.reserve(text.size() + why.size() + 4);
  out.push_back('\'');
  out.append(text);
  out.append("': ");
  out.append(why);
  return out;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  auto fail = [&](std::string_view why) -> std::optional<Cidr> {
    if (error) *error = quoted_error(text, why);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  Cidr c;
  if (!TransportAddress::parse_ip(std::string(text.substr(0, slash)), c.network_))
    return fail("not an IPv4 or IPv6 address");
  const unsigned max = c.network_.family == Family::kIPv4 ? 32 : 128;
  c.length_ = max;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), c.length_);
    if (len.empty() || ec != std::errc{} || end != len.data() + len.size() || c.length_ > max)
      return fail("prefix length must be 0-" + std::to_string(max));
  }
  TransportAddress masked = c.network_;
  for (unsigned bit = c.length_; bit < max; ++bit)
    masked.ip[bit / 8] = static_cast<std::uint8_t>(masked.ip[bit / 8] & ~(0x80u >> (bit % 8)));
  if (masked != c.network_) {
    return fail("host bits set (did you mean " + ip_text(masked) + "/" + std::to_string(c.length_) +
                "?)");
  }
  return c;
}

bool Cidr::contains(const TransportAddress& address) const noexcept {
  if (address.family != network_.family) return false;
  const unsigned whole = length_ / 8, rest = length_ % 8;
  if (std::memcmp(address.ip.data(), network_.ip.data(), whole) != 0) return false;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
  return (address.ip[whole] & mask) == network_.ip[whole];
}

std::string Cidr::to_string() const {
  return ip_text(network_) + "/" + std::to_string(length_);
}

std::optional<TransportAddress> embedded_ipv4(const TransportAddress& a) noexcept {
  if (a.family != Family::kIPv6) return std::nullopt;
  const auto zero = [&](std::size_t from, std::size_t to) {
    return std::all_of(a.ip.begin() + static_cast<std::ptrdiff_t>(from),
                       a.ip.begin() + static_cast<std::ptrdiff_t>(to),
                       [](std::uint8_t b) { return b == 0; });
  };
  // ::ffff:a.b.c.d (mapped, RFC 4291 §2.5.5.2) and ::ffff:0:a.b.c.d (SIIT, RFC 2765).
  if (zero(0, 10) && a.ip[10] == 0xff && a.ip[11] == 0xff) return v4_from(a, 12);
  if (zero(0, 8) && a.ip[8] == 0xff && a.ip[9] == 0xff && zero(10, 12)) return v4_from(a, 12);
  // ::a.b.c.d (compatible, RFC 4291 §2.5.5.1); :: and ::1 are themselves.
  if (zero(0, 12) && !(zero(12, 15) && a.ip[15] <= 1)) return v4_from(a, 12);
  // NAT64 well-known 64:ff9b::/96 and local-use 64:ff9b:1::/48 (RFC 6052 §2.2, RFC 8215).
  if (starts_with(a, {0x00, 0x64, 0xff, 0x9b}) && zero(4, 12)) return v4_from(a, 12);
  if (starts_with(a, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return v4_from(a, 12);
  // 6to4 2002:AABB:CCDD::/48 (RFC 3056 §2).
  if (starts_with(a, {0x20, 0x02})) return v4_from(a, 2);
  return std::nullopt;
}

PeerPolicy::PeerPolicy() : deny_(parse_fixed(kDefaultDeny)) {
  hard_deny();
}

PeerPolicy::Built PeerPolicy::build(std::span<const std::string> deny,
                                    std::span<const std::string> allow) {
  Built out;
  PeerPolicy p;  // also builds the hard list before the first noexcept allowed() call
  p.deny_.clear();
  auto add = [&](std::vector<Cidr>& list, const std::string& text, const char* key) {
    std::string error;
    if (auto c = Cidr::parse(text, &error)) {
      list.push_back(*c);
    } else {
      out.errors.push_back(std::string("peers.") + key + " " + error);
    }
  };
  for (const std::string& d : deny) {
    if (d == "default") {
      const std::vector<Cidr> defaults = parse_fixed(kDefaultDeny);
      p.deny_.insert(p.deny_.end(), defaults.begin(), defaults.end());
    } else {
      add(p.deny_, d, "deny");
    }
  }
  for (const std::string& a : allow) {
    std::string error;
    if (auto r = PeerRange::parse(a, &error)) {
      p.allow_.push_back(*r);
    } else {
      out.errors.push_back("peers.allow " + error);
    }
  }
  if (out.errors.empty()) out.policy = std::move(p);
  return out;
}

bool PeerPolicy::decide(const TransportAddress& peer, bool any_port) const noexcept {
  const std::optional<TransportAddress> v4 = embedded_ipv4(peer);
  if (matches(hard_deny(), peer, v4)) return false;
  return !matches(deny_, peer, v4) || allow_matches(allow_, peer, v4, any_port, false);
}

bool PeerPolicy::allowed(const TransportAddress& peer) const noexcept {
  return decide(peer, false);
}

bool PeerPolicy::allowed_some_port(const TransportAddress& peer) const noexcept {
  return decide(peer, true);
}

bool PeerPolicy::opens_port_of_own_host(const TransportAddress& peer,
                                        bool any_port) const noexcept {
  const std::optional<TransportAddress> v4 = embedded_ipv4(peer);
  if (matches(hard_deny(), peer, v4)) return false;
  return allow_matches(allow_, peer, v4, any_port, true);
}

std::optional<PeerRange> PeerRange::parse(std::string_view text, std::string* error) {
  std::string_view cidr = text;
  std::string_view ports;
  if (!text.empty() && text.front() == '[') {  // [IPv6/len]:ports
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      if (error) *error = quoted_error(text, "expected [IPv6]:port or [IPv6/len]:port");
      return std::nullopt;
    }
    cidr = text.substr(1, close - 1);
    ports = text.substr(close + 2);
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    cidr = text.substr(0, colon);  // IPv4 with a port (an IPv6 address has several colons)
    ports = text.substr(colon + 1);
  }
  auto parsed = Cidr::parse(cidr, error);
  if (!parsed) return std::nullopt;
  PeerRange r(*parsed);
  if (cidr.size() != text.size()) {
    if (!parse_ports(ports, r.min_port_, r.max_port_)) {
      if (error) *error = quoted_error(text, "ports must be P or LO-HI, 1-65535");
      return std::nullopt;
    }
    r.names_ports_ = true;
  }
  return r;
}

bool PeerRange::contains(const TransportAddress& address, bool any_port) const noexcept {
  if (!cidr_.contains(address)) return false;
  return any_port || (address.port >= min_port_ && address.port <= max_port_);
}

std::span<const std::string_view> PeerPolicy::default_deny_list() noexcept {
  return kDefaultDeny;
}

}  // namespace tern::core
