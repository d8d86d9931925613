// Allocation lifecycle events the core reports for logging (no secrets: never a key or password).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string_view>

#include "tern/core/five_tuple.hpp"
#include "tern/core/relay.hpp"

namespace tern::core {

// kMoved: RFC 8016, the allocation now belongs to the client's new 5-tuple (`flow`), on this
// worker; `previous` is the old one when that was on this worker too (it may still send until
// it settles). kMovedAway: the allocation of `flow` left this worker for another one, whose
// new 5-tuple reached that worker; data from `flow` still arriving here is passed on there.
enum class AllocationEvent : std::uint8_t {
  kCreated,
  kRefreshed,
  kDeleted,
  kExpired,
  kClosed,
  kMoved,
  kMovedAway
};

struct AllocationEventInfo {
  std::uint64_t session_id = 0;
  const FiveTuple* flow = nullptr;
  std::string_view username;
  std::span<const RelayEndpoint> relays;
  std::chrono::seconds lifetime{0};     // for kCreated and kRefreshed
  TimePoint expires{};                  // when the allocation ends unless refreshed
  const FiveTuple* previous = nullptr;  // for kMoved within one worker
};

// A channel binding whose data the kernel may relay without tern (relay.offload): ChannelData
// from the allocation's client on `channel` goes to `peer` from relay `relay`, and the peer's
// datagrams to that relay come back on `channel`, until `expires` (the first of the binding's,
// its permission's and the allocation's expiry).
struct ChannelRoute {
  std::uint16_t channel = 0;
  RelayId relay = 0;
  protocol::TransportAddress peer;
  TimePoint expires{};
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called on the worker thread that owns the allocation.
  virtual void allocation(AllocationEvent event, const AllocationEventInfo& info) = 0;
  // With ServerOptions::channel_routes: every route of allocation `session` (of `flow`), after
  // a request changed them or a reload; an empty list = none. Ended allocations have none
  // (their kDeleted, kExpired, kClosed or kMovedAway says so).
  virtual void routes(std::uint64_t /*session*/, const FiveTuple& /*flow*/,
                      std::span<const ChannelRoute> /*routes*/) {}
};

}  // namespace tern::core
