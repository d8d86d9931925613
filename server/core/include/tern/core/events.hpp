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

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called on the worker thread that owns the allocation.
  virtual void allocation(AllocationEvent event, const AllocationEventInfo& info) = 0;
};

}  // namespace tern::core
