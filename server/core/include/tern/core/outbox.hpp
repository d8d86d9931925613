// Where the core puts what it wants sent; the network layer implements it (batched I/O).
#pragma once

#include <cstdint>
#include <span>

#include "tern/core/five_tuple.hpp"

namespace tern::core {

using RelayId = std::uint32_t;

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Send `bytes` to the client of `flow`, from the server address of `flow`. The bytes are
  // only valid during the call.
  virtual void to_client(const FiveTuple& flow, std::span<const std::uint8_t> bytes) = 0;
  // Send `bytes` from relay socket `relay` to `peer` (RFC 8656 §11.2, §12.6).
  virtual void to_peer(RelayId relay, const protocol::TransportAddress& peer,
                       std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace tern::core
