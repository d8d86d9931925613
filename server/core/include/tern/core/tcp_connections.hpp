// RFC 6062 peer data connections of every worker's TCP allocations; control path only, one mutex.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tern/core/five_tuple.hpp"
#include "tern/core/relay.hpp"
#include "tern/protocol/address.hpp"

namespace tern::core {

// 0 = unlimited.
struct TcpConnectionLimits {
  std::uint32_t per_allocation = 0;
  std::uint32_t total = 0;
};

// A ConnectionBind may arrive on any worker (the client opens a new connection for it), so the
// connections of all workers' allocations are kept here, where any worker can claim one.
class TcpConnectionTable {
 public:
  TcpConnectionTable();

  enum class Refusal : std::uint8_t { kNone, kExists, kLimit };
  struct Reserved {
    ConnectionId id = 0;  // 0 when refused
    Refusal refusal = Refusal::kNone;
  };
  // A new connection of allocation `session` (owned by `username`: its user, or for an RFC 7635
  // token the holder of its key) with `peer`. `connecting`:
  // tern is still opening it (Connect), and a second one to the same peer is refused
  // (kExists); otherwise it is established and waits for its ConnectionBind until `deadline`.
  struct Owner {
    std::uint64_t session = 0;
    std::string_view username;
    protocol::TransportAddress control;  // the client address of its control connection
  };
  Reserved reserve(const Owner& owner, const protocol::TransportAddress& peer, bool connecting,
                   TimePoint deadline, TcpConnectionLimits limits);
  // The connection tern opened for a Connect is up: it waits for its ConnectionBind until
  // `deadline`. False when it is gone (its allocation ended meanwhile).
  bool established(ConnectionId id, TimePoint deadline);
  // ConnectionBind: the waiting connection `id` of an allocation owned by `username` is now
  // bound; its peer is returned. Nothing when there is no such waiting connection.
  std::optional<protocol::TransportAddress> bind(ConnectionId id, std::string_view username,
                                                 TimePoint now);
  // The connection ended (a side closed, or its connect failed).
  void remove(ConnectionId id);
  // The control connection's client address for connection `id`, while it waits.
  std::optional<protocol::TransportAddress> control_client(ConnectionId id) const;
  // Waiting connections whose ConnectionBind did not come in time, removed (RFC 6062 §5.2-5.3).
  std::vector<ConnectionId> expire(TimePoint now);
  // Every connection of an allocation that ended, removed.
  std::vector<ConnectionId> end_session(std::uint64_t session);
  std::size_t size() const;
  std::size_t count(std::uint64_t session) const;

 private:
  enum class State : std::uint8_t { kConnecting, kWaiting, kBound };
  struct Entry {
    std::uint64_t session = 0;
    std::string username;
    protocol::TransportAddress control;
    protocol::TransportAddress peer;
    State state = State::kConnecting;
    TimePoint deadline{};
  };
  std::size_t count_locked(std::uint64_t session) const;

  mutable std::mutex mutex_;
  std::map<ConnectionId, Entry> entries_;
  std::mt19937 rng_;
};

}  // namespace tern::core
