// Which allocation a peer's datagram to a shared relay socket is for (relay.multiplex_port): the
// peer's exact address, as an allocation sent to it; else its IP, when one allocation alone
// sent to that IP.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tern/core/five_tuple.hpp"
#include "tern/core/outbox.hpp"
#include "tern/protocol/address.hpp"

namespace tern::net {

struct AddressHash {
  std::size_t operator()(const protocol::TransportAddress& a) const noexcept {
    const std::string_view ip(reinterpret_cast<const char*>(a.ip.data()), a.ip_size());
    return std::hash<std::string_view>{}(ip) ^ (std::size_t{a.port} * 0x9E3779B97F4A7C15ull);
  }
};

class PeerDemux {
 public:
  // The peers one allocation may send to; past it, datagrams to new peers are dropped.
  static constexpr std::size_t kMaxPeersPerRelay = 1024;
  // A peer another allocation has not sent to for this long (a permission's lifetime) may be
  // taken over.
  static constexpr auto kIdle = std::chrono::seconds(300);

  // Relay `id` sends to `peer` at `now`: true when `peer` is its own (already, or from now);
  // false when another relay sent to it within kIdle, or `id` has kMaxPeersPerRelay peers.
  bool claim(core::RelayId id, const protocol::TransportAddress& peer, core::TimePoint now);
  // The relay a datagram from `peer` is for: the one that claimed `peer`, else the only one
  // that claimed any port of `peer`'s IP.
  std::optional<core::RelayId> owner(const protocol::TransportAddress& peer) const;
  // Relay `id` closed: its peers are free.
  void release(core::RelayId id);
  std::size_t peers() const noexcept { return by_peer_.size(); }

 private:
  struct Entry {
    core::RelayId id = 0;
    core::TimePoint last{};
  };
  // The relays that claimed ports of one IP, with how many ports each (mostly one relay).
  using IpOwners = std::vector<std::pair<core::RelayId, std::uint32_t>>;
  static protocol::TransportAddress ip_of(protocol::TransportAddress peer) noexcept {
    peer.port = 0;
    return peer;
  }
  void add(core::RelayId id, const protocol::TransportAddress& peer, core::TimePoint now);
  void drop_ip(core::RelayId id, const protocol::TransportAddress& peer);
  void drop_from_relay(core::RelayId id, const protocol::TransportAddress& peer);

  std::unordered_map<protocol::TransportAddress, Entry, AddressHash> by_peer_;
  std::unordered_map<core::RelayId, std::vector<protocol::TransportAddress>> by_relay_;
  std::unordered_map<protocol::TransportAddress, IpOwners, AddressHash> by_ip_;
};

}  // namespace tern::net
