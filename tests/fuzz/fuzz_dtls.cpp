// libFuzzer target: datagrams from four clients into a DtlsEndpoint, one of them (when the first
// byte asks) with an association an in-memory client set up first. Invariants after each
// datagram: a client without an association never gets more bytes back than it sent, at most
// one association per client, and nothing is admitted without a verified cookie.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <set>

#include "net/dtls_endpoint.hpp"
#include "net/tls.hpp"
#include "require.hpp"
#include "unit/dtls_client.hpp"

namespace {

using tern::fuzz::require;

using namespace tern;
using namespace tern::net;

std::shared_ptr<const DtlsContext> context() {
  static const auto ctx = DtlsContext::make(
      ensure_self_signed((std::filesystem::temp_directory_path() / "tern-fuzz-dtls").string()));
  return ctx;
}

protocol::TransportAddress client(std::size_t i) {
  return protocol::TransportAddress::v4(0x7F000001, static_cast<std::uint16_t>(40000 + i));
}

struct Harness {
  Harness()
      : endpoint(client(100), context(), hooks(),
                 StreamTimeouts{std::chrono::seconds(60), std::chrono::seconds(5)}) {}

  DtlsEndpoint::Hooks hooks() {
    DtlsEndpoint::Hooks h;
    h.send = [this](const protocol::TransportAddress& to, std::span<const std::uint8_t> b) {
      sent[to.port - 40000] += b.size();
      if (to == client(0) && handshaking) replies.emplace_back(b.begin(), b.end());
    };
    h.deliver = [](const core::FiveTuple& flow, std::span<const std::uint8_t> b) {
      require(flow.transport == core::Transport::kDtls && !b.empty());
    };
    h.admit = [this](const core::FiveTuple& flow) {
      require(!admitted.contains(flow.client.port));
      admitted.insert(flow.client.port);
      return true;
    };
    h.closed = [this](const core::FiveTuple& flow, bool) { admitted.erase(flow.client.port); };
    h.keep_idle = [](const core::FiveTuple&) { return false; };
    return h;
  }

  // A real handshake for client 0, so that the datagrams after it reach an association.
  void connect() {
    test::Client c;
    handshaking = true;
    SSL_do_handshake(c.ssl);
    for (int round = 0; round < 20 && (!c.out.empty() || !replies.empty()); ++round) {
      while (!c.out.empty()) {
        endpoint.receive(client(0), c.out.front(), now);
        c.out.pop_front();
      }
      while (!replies.empty()) {
        c.give(replies.front());
        replies.pop_front();
      }
    }
    handshaking = false;
    require(endpoint.established() == 1);
  }

  std::array<std::size_t, 4> sent{};
  std::set<std::uint16_t> admitted;
  std::deque<test::Bytes> replies;
  bool handshaking = false;
  DtlsEndpoint::Clock::time_point now{};
  DtlsEndpoint endpoint;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Harness h;
  if (in.ConsumeBool()) h.connect();
  for (int step = 0; step < 16 && in.remaining_bytes() > 0; ++step) {
    const std::size_t who = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) {
      h.now += std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 120));
      h.endpoint.tick(h.now);
      continue;
    }
    const auto datagram = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 2048));
    const bool known = h.admitted.contains(client(who).port);
    const std::size_t before = h.sent[who];
    h.endpoint.receive(client(who), datagram, h.now);
    if (!known && !h.admitted.contains(client(who).port)) {
      require(h.sent[who] - before <= datagram.size());  // no amplification
    }
    require(h.endpoint.associations() == h.admitted.size());
    require(h.endpoint.associations() <= 4);
  }
  return 0;
}
