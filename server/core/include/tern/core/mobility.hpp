// RFC 8016 mobility across workers: what the core asks of the network layer to move an allocation.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tern/core/five_tuple.hpp"
#include "tern/core/relay.hpp"

namespace tern::core {

// An allocation between two workers; opaque outside the core.
struct MovingAllocation;
struct MovingAllocationDeleter {
  void operator()(MovingAllocation* a) const noexcept;
};
using MovedAllocation = std::unique_ptr<MovingAllocation, MovingAllocationDeleter>;
// The relay sockets the allocation takes along, in the order move_in wants them back.
std::vector<RelayId> relay_ids(const MovingAllocation& a);

// Implemented by the network layer, one per worker.
class AllocationMover {
 public:
  virtual ~AllocationMover() = default;
  // A Refresh from `flow` carries a ticket for allocation `session`, held by `worker`: bring it
  // to this worker (Server::move_out there, Server::move_in here, the relay sockets carried
  // over) and then give `request` to this worker's Server::handle_moved, whether it came or not.
  // `owner`: who signed the Refresh (the user, or for a token the holder of its key).
  virtual void fetch(std::uint16_t worker, std::uint64_t session, std::string owner,
                     const FiveTuple& flow, std::vector<std::uint8_t> request) = 0;
  // Data from `flow`, the old 5-tuple of an allocation that moved to `worker`: give it to
  // Server::handle_forwarded there (RFC 8016 §3.2.2).
  virtual void forward(std::uint16_t worker, const FiveTuple& flow,
                       std::vector<std::uint8_t> bytes) = 0;
  // `flow`, the old 5-tuple of an allocation that moved to `worker`, has an allocation of its
  // own here now: Server::previous_taken there.
  virtual void release_previous(std::uint16_t worker, const FiveTuple& flow) = 0;
};

}  // namespace tern::core
