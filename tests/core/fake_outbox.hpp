// An Outbox that records what the core sends, for sans-I/O tests.
#pragma once

#include <vector>

#include "tern/core/outbox.hpp"

namespace tern::test {

struct Sent {
  core::FiveTuple flow;
  std::vector<std::uint8_t> bytes;
};

class FakeOutbox final : public core::Outbox {
 public:
  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override {
    sent.push_back({flow, {bytes.begin(), bytes.end()}});
  }
  std::vector<Sent> sent;
};

}  // namespace tern::test
