// An Outbox that records what the core sends, for sans-I/O tests.
#pragma once

#include <vector>

#include "tern/core/outbox.hpp"

namespace tern::test {

struct Sent {
  core::FiveTuple flow;
  std::vector<std::uint8_t> bytes;
};

struct ToPeer {
  core::RelayId relay = 0;
  protocol::TransportAddress peer;
  std::vector<std::uint8_t> bytes;
};

class FakeOutbox final : public core::Outbox {
 public:
  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override {
    sent.push_back({flow, {bytes.begin(), bytes.end()}});
  }
  void to_peer(core::RelayId relay, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes) override {
    to_peers.push_back({relay, peer, {bytes.begin(), bytes.end()}});
  }
  std::vector<Sent> sent;
  std::vector<ToPeer> to_peers;
};

}  // namespace tern::test
