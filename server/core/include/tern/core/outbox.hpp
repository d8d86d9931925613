// Where the core puts what it wants sent; the network layer implements it (batched I/O).
#pragma once

#include <span>

#include "tern/core/five_tuple.hpp"

namespace tern::core {

class Outbox {
 public:
  virtual ~Outbox() = default;
  // Send `bytes` to the client of `flow`, from the server address of `flow`. The bytes are
  // only valid during the call.
  virtual void to_client(const FiveTuple& flow, std::span<const std::uint8_t> bytes) = 0;
};

}  // namespace tern::core
