// Which peer addresses a relay may send to: CIDR deny/allow lists over canonicalised addresses
// (RFC 8656 §21.4, RFC 6890 special-purpose ranges, every IPv4-in-IPv6 form).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::core {

// An address prefix such as "10.0.0.0/8" or "::1/128"; a bare address is a host route.
class Cidr {
 public:
  // Rejects bad syntax, a length beyond 32/128 and host bits set below the prefix.
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);

  // Same family and the first prefix_length() bits equal; the port is ignored.
  bool contains(const protocol::TransportAddress& address) const noexcept;
  protocol::Family family() const noexcept { return network_.family; }
  unsigned prefix_length() const noexcept { return length_; }
  std::string to_string() const;

 private:
  protocol::TransportAddress network_;
  unsigned length_ = 0;
};

// An allow-list entry: a CIDR, and optionally the ports it opens: "198.51.100.7/32:5000-5100",
// "203.0.113.5:443", "[2001:db8::5]:3000-3999" (IPv6 in brackets when a port follows).
class PeerRange {
 public:
  static std::optional<PeerRange> parse(std::string_view text, std::string* error = nullptr);

  // The address (port ignored when `any_port`) is in the CIDR and, if ports are named, its
  // port is one of them (with `any_port`: some port is).
  bool contains(const protocol::TransportAddress& address, bool any_port) const noexcept;
  bool names_ports() const noexcept { return names_ports_; }

 private:
  explicit PeerRange(Cidr cidr) : cidr_(cidr) {}
  Cidr cidr_;
  std::uint16_t min_port_ = 0;
  std::uint16_t max_port_ = 65535;
  bool names_ports_ = false;
};

// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), SIIT (::ffff:0:0:0/96),
// IPv4-compatible (::/96 except :: and ::1), NAT64 (64:ff9b::/96, RFC 6052; 64:ff9b:1::/48,
// RFC 8215, read with the /96 layout) or 6to4 (2002::/16, RFC 3056) address; nullopt otherwise.
std::optional<protocol::TransportAddress> embedded_ipv4(
    const protocol::TransportAddress& address) noexcept;

// Deny/allow decision for peers. Always denied, whatever `allow` says: 0.0.0.0/8 and ::/128
// (CVE-2020-26262), Teredo 2001::/32 and 6to4 2002::/16 (RFC 8656 §21.4 MUST NOT).
// Otherwise a peer is denied when it or its embedded IPv4 address is in `deny`, unless it or
// its embedded IPv4 address is in `allow` (on one of the entry's ports, if it names any). A
// linear scan: meant for permission/channel set-up, not for every relayed packet.
class PeerPolicy {
 public:
  struct Built;

  // deny: [default], allow: [].
  PeerPolicy();
  // "default" in `deny` expands to default_deny_list(). Errors name every bad entry.
  static Built build(std::span<const std::string> deny, std::span<const std::string> allow);

  // `peer` with its port (Send, ChannelBind, ChannelData).
  bool allowed(const protocol::TransportAddress& peer) const noexcept;
  // `peer`'s IP on some port (CreatePermission, whose port is ignored: RFC 8656 §9.1).
  bool allowed_some_port(const protocol::TransportAddress& peer) const noexcept;
  // An allow entry that names ports covers `peer` (its port too, unless `any_port`): the only
  // way to open a port of tern's own relay address, e.g. for an SFU on the same host.
  bool opens_port_of_own_host(const protocol::TransportAddress& peer, bool any_port) const noexcept;

  // The special-purpose ranges that "default" stands for (RFC 6890 registries, C.0).
  static std::span<const std::string_view> default_deny_list() noexcept;

 private:
  bool decide(const protocol::TransportAddress& peer, bool any_port) const noexcept;

  std::vector<Cidr> deny_;
  std::vector<PeerRange> allow_;
};

struct PeerPolicy::Built {
  std::optional<PeerPolicy> policy;  // set when errors is empty
  std::vector<std::string> errors;
};

}  // namespace tern::core
