// How the core obtains relayed transport addresses without touching sockets (implemented in net).
#pragma once

#include <cstdint>
#include <optional>

#include "tern/core/five_tuple.hpp"
#include "tern/core/outbox.hpp"
#include "tern/protocol/address.hpp"

namespace tern::core {

using ConnectionId = std::uint32_t;  // CONNECTION-ID (RFC 6062 §6.2.1); never 0

struct RelayEndpoint {
  RelayId id = 0;
  protocol::TransportAddress address;   // as advertised in XOR-RELAYED-ADDRESS
  std::uint64_t reservation_token = 0;  // non-zero when the next port is held for a later Allocate
};

class RelayProvider {
 public:
  virtual ~RelayProvider() = default;
  // Opens a relay socket of `family` on a random free port of the configured range; with
  // `even` the port is even, and with `reserve_next` the next port is held for
  // the returned `reservation_token` (RFC 8656 §7.2). Empty when no port is free or the family is
  // not configured.
  virtual std::optional<RelayEndpoint> open(protocol::Family family, bool even,
                                            bool reserve_next) = 0;
  // Opens the port held by a RESERVATION-TOKEN from an earlier Allocate.
  virtual std::optional<RelayEndpoint> open_reserved(std::uint64_t token) = 0;
  virtual void close(RelayId id) = 0;

  // RFC 6062 TCP allocations. A providers without them keeps the defaults (nothing opens).
  // A TCP relayed transport address: a listening socket; peers that connect to it are reported
  // with Server::tcp_peer_connected.
  virtual std::optional<RelayEndpoint> open_tcp(protocol::Family) { return std::nullopt; }
  // Opens a TCP connection from relay `relay`'s address to `peer`; the outcome is reported with
  // Server::tcp_connected(id, ...) on this worker, later.
  virtual void connect(RelayId /*relay*/, ConnectionId /*id*/,
                       const protocol::TransportAddress& /*peer*/) {}
  // ConnectionBind on `data_flow` (a client connection of this worker) succeeded: from now on
  // that connection carries connection `id`'s bytes. False when the peer side is gone.
  virtual bool bind_connection(ConnectionId /*id*/, const FiveTuple& /*data_flow*/) {
    return false;
  }
  // Connection `id` ends, on whichever worker holds it (thread-safe).
  virtual void close_connection(ConnectionId /*id*/) {}
  // RFC 8656 §7.2 DONT-FRAGMENT: send this relay's datagrams with DF set. False when the
  // provider cannot, and the Allocate is then refused with 420.
  virtual bool set_dont_fragment(RelayId) { return false; }
  virtual bool family_available(protocol::Family family) const = 0;
  // True when `address` is a relayed transport address of this tern process right now, so
  // that two clients of the same tern can reach each other (reference C.0).
  virtual bool is_live_relay(const protocol::TransportAddress& address) const = 0;
  // Changes whenever a relayed address stops being live (so cached peer verdicts are re-checked).
  virtual std::uint64_t generation() const { return 0; }
  // True when `address`'s IP is one tern relays from or advertises (port ignored).
  virtual bool is_own_ip(const protocol::TransportAddress& address) const = 0;
  // True when `address`'s port is one tern itself uses (its listeners, metrics, signaling, the
  // relay port range): never a peer, whatever the allow list says.
  virtual bool is_own_port(const protocol::TransportAddress& address) const = 0;
};

}  // namespace tern::core
