// The 5-tuple that identifies a client's flow to tern (RFC 8656 §2): client, server, transport.
#pragma once

#include <chrono>

#include "tern/protocol/address.hpp"

namespace tern::core {

// kDtls: DTLS over UDP (RFC 7350); datagrams like kUdp, one STUN message per record.
enum class Transport : std::uint8_t { kUdp, kTcp, kTls, kDtls };
inline constexpr std::size_t kTransportCount = 4;

// TCP and TLS carry a byte stream (RFC 8656 §12.5 framing); UDP and DTLS carry datagrams.
constexpr bool is_stream(Transport t) noexcept {
  return t == Transport::kTcp || t == Transport::kTls;
}

struct FiveTuple {
  protocol::TransportAddress client;
  protocol::TransportAddress server;
  Transport transport = Transport::kUdp;
  friend bool operator==(const FiveTuple&, const FiveTuple&) = default;
};

struct FiveTupleHash {
  std::size_t operator()(const FiveTuple& f) const noexcept;
};

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// The time passed into the core: monotonic for leases, wall clock for credential expiry.
struct Instant {
  TimePoint steady{};
  WallTime wall{};
  static Instant current() noexcept { return {Clock::now(), std::chrono::system_clock::now()}; }
};

const char* to_string(Transport t) noexcept;

}  // namespace tern::core
