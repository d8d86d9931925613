// The relay port range shared by all workers: random free ports, reservations, live relays.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "tern/protocol/address.hpp"

namespace tern::net {

struct RelayAddresses {
  protocol::TransportAddress bind_v4;  // port 0; family kIPv4
  std::optional<protocol::TransportAddress> bind_v6;
  protocol::TransportAddress advertised_v4;  // what XOR-RELAYED-ADDRESS says
  std::optional<protocol::TransportAddress> advertised_v6;
  // relay.extra_addresses: more relay IPs of either family, each bound and advertised as
  // itself, each with its own port range (more allocations than one range holds).
  std::vector<protocol::TransportAddress> extra;
  std::vector<protocol::TransportAddress> own_ips;  // every IP that reaches this host's relays
};

// Control path only (Allocate, deletion): one mutex, no I/O. Each relay IP has the whole port
// range; a new relay goes to the IP of its family with the most free ports, on a port drawn
// at random (RFC 6056 style) and bound by the caller. A port the OS refuses stays marked.
class RelayPorts {
 public:
  RelayPorts(RelayAddresses addresses, std::uint16_t min_port, std::uint16_t max_port);
  ~RelayPorts();  // closes the sockets held for reservations
  RelayPorts(const RelayPorts&) = delete;
  RelayPorts& operator=(const RelayPorts&) = delete;

  // A random local address (bind IP and port) of `family` not in use; with `even`, an even
  // port; with `reserve_next`, the port after it is held too and a token for it returned.
  // Nothing is free → nullopt.
  struct Pick {
    protocol::TransportAddress local;
    std::uint64_t token = 0;
  };
  std::optional<Pick> pick(protocol::Family family, bool even, bool reserve_next);
  // A socket bound to the reserved port, held until the reservation is taken or expires (so
  // that no other program can take the port meanwhile); closed then if not taken.
  void hold(std::uint64_t token, int fd);
  // The local address held for `token` (RFC 8656 §7.2: at least 30 s), now in use by the
  // caller, with the socket held for it (-1 if none).
  struct Reserved {
    protocol::TransportAddress local;
    int fd = -1;
  };
  std::optional<Reserved> take_reserved(std::uint64_t token);
  void release(const protocol::TransportAddress& local);
  // What XOR-RELAYED-ADDRESS says for a relay bound on `local`.
  protocol::TransportAddress advertised(const protocol::TransportAddress& local) const;
  bool has_family(protocol::Family family) const noexcept;

  bool is_live(const protocol::TransportAddress& address) const;
  bool is_own_ip(const protocol::TransportAddress& address) const;
  // A port of tern's own: the relay range or a registered service port (listeners, metrics,
  // signaling). Any IP: the caller has checked it is one of tern's.
  bool is_own_port(std::uint16_t port) const;
  void add_service_port(std::uint16_t port);
  // relay.multiplex_port: `port` on every relay IP is a worker's shared relay socket, live while
  // tern runs (and, like a service port, never a peer).
  void add_shared_port(std::uint16_t port);
  std::size_t in_use() const;
  // Bumped whenever a port is released (a live relay may have ended).
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::size_t in_use(protocol::Family family) const;
  std::size_t capacity(protocol::Family family) const noexcept;
  const RelayAddresses& addresses() const noexcept { return addresses_; }

 private:
  // One relay IP and its ports in use (a bit per port).
  struct Slot {
    protocol::TransportAddress bind;
    protocol::TransportAddress advertised;
    std::vector<std::uint64_t> used = std::vector<std::uint64_t>(1024);
    std::size_t count = 0;
    bool test(std::uint16_t p) const noexcept { return (used[p >> 6] >> (p & 63)) & 1u; }
    void set(std::uint16_t p) noexcept;
    void clear(std::uint16_t p) noexcept;
  };
  struct Reservation {
    std::size_t slot;
    std::uint16_t port;
    std::chrono::steady_clock::time_point expires;
    int fd = -1;
  };
  std::set<std::uint16_t> service_ports_;  // guarded by mutex_
  std::set<std::uint16_t> shared_ports_;   // guarded by mutex_
  void expire_reservations();
  std::optional<std::uint16_t> free_port(const Slot& slot, bool even, bool reserve_next);
  Slot* slot_of(const protocol::TransportAddress& local) noexcept;

  RelayAddresses addresses_;
  std::uint16_t min_;
  std::uint16_t max_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::vector<Slot> slots_;  // guarded by mutex_ (the list itself is fixed)
  std::map<std::uint64_t, Reservation> reservations_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace tern::net
