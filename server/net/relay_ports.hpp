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
  std::vector<protocol::TransportAddress> own_ips;  // every IP that reaches this host's relays
};

// Control path only (Allocate, deletion): one mutex, no I/O. Ports are drawn at random
// (RFC 6056 style) and bound by the caller; a port the OS refuses is marked and skipped.
class RelayPorts {
 public:
  RelayPorts(RelayAddresses addresses, std::uint16_t min_port, std::uint16_t max_port);

  // A random port of `family` not in use; with `even`, an even one; with `reserve_next`, the
  // port after it is held too and a token for it returned. Nothing is free → nullopt.
  struct Pick {
    std::uint16_t port = 0;
    std::uint64_t token = 0;
  };
  std::optional<Pick> pick(protocol::Family family, bool even, bool reserve_next);
  // The port held for `token` (RFC 8656 §7.2: at least 30 s), now in use by the caller.
  std::optional<std::pair<protocol::Family, std::uint16_t>> take_reserved(std::uint64_t token);
  void release(protocol::Family family, std::uint16_t port);

  bool is_live(const protocol::TransportAddress& address) const;
  bool is_own_ip(const protocol::TransportAddress& address) const;
  // A port of tern's own: the relay range or a registered service port (listeners, metrics,
  // signaling). Any IP: the caller has checked it is one of tern's.
  bool is_own_port(std::uint16_t port) const;
  void add_service_port(std::uint16_t port);
  std::size_t in_use() const;
  // Bumped whenever a port is released (a live relay may have ended).
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  std::size_t in_use(protocol::Family family) const;
  std::size_t capacity() const noexcept { return std::size_t{max_} - min_ + 1; }
  const RelayAddresses& addresses() const noexcept { return addresses_; }

 private:
  struct Reservation {
    protocol::Family family;
    std::uint16_t port;
    std::chrono::steady_clock::time_point expires;
  };
  std::set<std::uint16_t> service_ports_;  // guarded by mutex_
  std::set<std::uint16_t>& used(protocol::Family f) {
    return f == protocol::Family::kIPv4 ? v4_ : v6_;
  }
  void expire_reservations();

  RelayAddresses addresses_;
  std::uint16_t min_;
  std::uint16_t max_;
  mutable std::mutex mutex_;
  std::mt19937_64 rng_;
  std::set<std::uint16_t> v4_;  // in use or reserved
  std::set<std::uint16_t> v6_;
  std::map<std::uint64_t, Reservation> reservations_;
  std::atomic<std::uint64_t> generation_{1};
};

}  // namespace tern::net
