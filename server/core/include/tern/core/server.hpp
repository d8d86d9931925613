// The sans-I/O STUN/TURN core: bytes and the time go in, messages to send come out.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "tern/core/five_tuple.hpp"
#include "tern/core/outbox.hpp"

namespace tern::core {

struct ServerOptions {
  std::string software;  // SOFTWARE attribute; empty = not sent
  bool rfc3489 = false;  // answer cookie-less RFC 3489 Binding requests with MAPPED-ADDRESS
};

struct ServerStats {
  std::uint64_t binding_requests = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t error_responses = 0;
};

// One per worker; never shared between threads.
class Server {
 public:
  explicit Server(ServerOptions options);

  // One datagram from UDP, or one frame cut from a TCP/TLS stream.
  void handle(const FiveTuple& flow, std::span<const std::uint8_t> bytes, TimePoint now,
              Outbox& out);

  const ServerStats& stats() const noexcept { return stats_; }

 private:
  ServerOptions options_;
  ServerStats stats_;
  std::array<std::uint8_t, 1500> scratch_{};
};

}  // namespace tern::core
