// tern_sweep_bench: one worker's core holding N allocations with a channel each, in memory (no
// sockets): the time of an expiry sweep with nothing due, and with 1 % due, at each N, and the
// core's heap per allocation. Shows that a sweep costs what expires, not what is held.
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "measure.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/core/peer_policy.hpp"
#include "tern/core/quota.hpp"
#include "tern/core/relay.hpp"
#include "tern/core/server.hpp"
#include "turn_messages.hpp"

namespace tern::bench {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUsage = R"(usage: tern_sweep_bench [--sizes 1000,100000] [--sweeps 200]
  Per size N: N allocations (Allocate dance and ChannelBind, as a client sends them) in one
  worker's core with a fake clock and no sockets; then the time of a sweep with nothing due
  (--sweeps of them), of sweeps where the permissions of 1 % and of 99 % lapse, and of one
  that ends 1 % of the allocations; and the heap the core holds per allocation. One JSON
  object per size.
)";

// Relay endpoints without sockets: 10.x.y.z:port, a new address every 50,000 relays.
class MemoryRelays final : public core::RelayProvider {
 public:
  std::optional<core::RelayEndpoint> open(protocol::Family family, bool, bool) override {
    if (family != protocol::Family::kIPv4) return std::nullopt;
    const std::uint32_t n = next_++;
    const auto ip = (10u << 24) | (n / 50000 + 1);
    return core::RelayEndpoint{
        n + 1, TransportAddress::v4(ip, static_cast<std::uint16_t>(10000 + n % 50000)), 0};
  }
  std::optional<core::RelayEndpoint> open_reserved(std::uint64_t) override { return std::nullopt; }
  void close(core::RelayId) override {}
  bool family_available(protocol::Family f) const override { return f == protocol::Family::kIPv4; }
  bool is_live_relay(const TransportAddress&) const override { return false; }
  bool is_own_ip(const TransportAddress&) const override { return false; }
  bool is_own_port(const TransportAddress&) const override { return false; }

 private:
  std::uint32_t next_ = 0;
};

// Keeps the last answer.
class LastReply final : public core::Outbox {
 public:
  void to_client(const core::FiveTuple&, std::span<const std::uint8_t> bytes) override {
    last.assign(bytes.begin(), bytes.end());
  }
  void to_peer(core::RelayId, const TransportAddress&, std::span<const std::uint8_t>) override {}
  std::vector<std::uint8_t> last;
};

std::size_t heap_bytes() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

core::FiveTuple client_flow(std::size_t i) {
  core::FiveTuple f;
  f.transport = core::Transport::kUdp;
  f.client = TransportAddress::v4(static_cast<std::uint32_t>((100u << 24) | (i / 50000 + 1)),
                                  static_cast<std::uint16_t>(10000 + i % 50000));
  f.server = TransportAddress::v4(0x7F000001, 3478);
  return f;
}

struct Bench {
  MemoryRelays relays;
  LastReply out;
  std::unique_ptr<core::Server> server;
  core::Instant now{core::TimePoint(1000s), core::WallTime(1'700'000'000s)};
  Credentials creds;
  std::mt19937_64 rng{1};

  Bench() {
    core::ServerOptions o;
    o.realm = "bench.local";
    o.unauthenticated_replies_per_second = 0;  // every client is on a handful of addresses
    const std::vector<auth::StaticUser> users = {
        {.name = "bench", .password = "bench", .key_hex = {}, .sha256_key_hex = {}}};
    auto store = auth::CredentialStore::build("bench.local", users, std::vector<std::string>{});
    core::ServerDeps deps;
    deps.credentials = std::make_shared<const auth::CredentialStore>(std::move(*store.store));
    const std::vector<std::string> deny = {"default"};
    const std::vector<std::string> allow = {"192.0.2.0/24"};
    auto policy = core::PeerPolicy::build(deny, allow);
    deps.peers = std::make_shared<const core::PeerPolicy>(std::move(*policy.policy));
    deps.quota = std::make_shared<core::AllocationQuota>(core::QuotaLimits{});
    deps.relays = &relays;
    server = std::make_unique<core::Server>(o, std::move(deps));
    creds.username = "bench";
    creds.password = "bench";
  }

  std::optional<Response> ask(const core::FiveTuple& flow, std::span<const std::uint8_t> request) {
    out.last.clear();
    server->handle(flow, request, now, out);
    return parse_response(out.last);
  }

  // The Allocate dance and a ChannelBind, as a client does them; false if any step failed.
  bool allocate(std::size_t i) {
    const core::FiveTuple flow = client_flow(i);
    std::array<std::uint8_t, 1500> buf{};
    auto r = ask(flow, std::span(buf).first(build_allocate(buf, random_tid(rng), nullptr)));
    if (!r || r->error != 401 || !r->nonce || !r->realm) return false;
    if (creds.realm.empty()) creds.set_realm(*r->realm);
    creds.nonce = *r->nonce;
    r = ask(flow, std::span(buf).first(build_allocate(buf, random_tid(rng), &creds)));
    if (!r || !r->success) return false;
    const auto peer = TransportAddress::v4(0xC0000200 | static_cast<std::uint32_t>(i % 250 + 1),
                                           static_cast<std::uint16_t>(5000 + i % 1000));
    r = ask(flow, std::span(buf).first(build_channel_bind(
                      buf, random_tid(rng), creds, static_cast<std::uint16_t>(0x4000), peer)));
    return r && r->success;
  }
};

double micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

int run(std::size_t n, std::size_t sweeps) {
  const std::size_t heap0 = heap_bytes();
  Bench b;
  // 99 % of them now; 1 % ten seconds later, so that one sweep can end those alone.
  const std::size_t late = std::max<std::size_t>(1, n / 100);
  const std::size_t early = n - late;
  std::size_t made = 0;
  for (std::size_t i = 0; i < early; ++i) made += b.allocate(i) ? 1 : 0;
  b.now.steady -= 10s;  // the 1 % made "earlier" end first
  for (std::size_t i = early; i < n; ++i) made += b.allocate(i) ? 1 : 0;
  b.now.steady += 10s;
  const std::size_t heap1 = heap_bytes();
  // 45 s on, every answer kept for retransmissions (40 s) has been released: the steady state.
  b.now.steady += 45s;
  const std::size_t released = b.server->sweep(b.now);
  const std::size_t heap2 = heap_bytes();
  // Sweeps with nothing due.
  Histogram idle;
  std::size_t looked = 0;
  for (std::size_t s = 0; s < sweeps; ++s) {
    b.now.steady += 1ms;
    const auto t0 = std::chrono::steady_clock::now();
    looked += b.server->sweep(b.now);
    idle.add(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
            .count()));
  }
  // The 1 % were made 10 s before the rest, so each of their deadlines comes first: their
  // permissions lapse at 290 s and they end at 590 s; the rest's come 10 s later.
  const core::TimePoint start = core::TimePoint(1000s);
  auto timed_sweep = [&](std::chrono::seconds at, std::size_t& looked_at) {
    b.now.steady = start + at;
    const auto t0 = std::chrono::steady_clock::now();
    looked_at = b.server->sweep(b.now);
    return micros(std::chrono::steady_clock::now() - t0);
  };
  std::size_t lapse_looked = 0;
  std::size_t catch_up_looked = 0;
  std::size_t end_looked = 0;
  const double lapse_us = timed_sweep(295s, lapse_looked);
  const double catch_up_us = timed_sweep(305s, catch_up_looked);
  const double end_us = timed_sweep(595s, end_looked);
  Json j;
  j.field("tool", "tern_sweep_bench").field("allocations", static_cast<std::uint64_t>(made));
  j.field("wanted", static_cast<std::uint64_t>(n));
  j.field("core_heap_bytes_per_allocation",
          made > 0 ? static_cast<double>(heap1 - heap0) / static_cast<double>(made) : 0.0);
  j.field("core_heap_bytes_per_allocation_after_45s",
          made > 0 ? static_cast<double>(heap2 - heap0) / static_cast<double>(made) : 0.0);
  j.field("answers_released_at_45s", static_cast<std::uint64_t>(released));
  j.latency("idle_sweep_us", idle);
  j.field("idle_sweeps_looked_at", static_cast<std::uint64_t>(looked));
  j.begin("permissions_of_1pct_lapse").field("sweep_us", lapse_us);
  j.field("looked_at", static_cast<std::uint64_t>(lapse_looked)).end();
  j.begin("permissions_of_99pct_lapse").field("sweep_us", catch_up_us);
  j.field("looked_at", static_cast<std::uint64_t>(catch_up_looked)).end();
  j.begin("allocations_of_1pct_end").field("sweep_us", end_us);
  j.field("looked_at", static_cast<std::uint64_t>(end_looked));
  j.field("left", static_cast<std::uint64_t>(b.server->allocation_count())).end();
  std::puts(j.str().c_str());
  return made == n ? 0 : 1;
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = {1000, 100000};
  std::size_t sweeps = 200;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--sizes" && i + 1 < argc) {
      sizes.clear();
      std::string list = argv[++i];
      for (std::size_t p = 0; p < list.size();) {
        const std::size_t comma = std::min(list.find(',', p), list.size());
        sizes.push_back(std::strtoul(list.substr(p, comma - p).c_str(), nullptr, 10));
        p = comma + 1;
      }
    } else if (a == "--sweeps" && i + 1 < argc) {
      sweeps = std::strtoul(argv[++i], nullptr, 10);
    } else {
      std::fputs(tern::bench::kUsage, stderr);
      return a == "--help" ? 0 : 2;
    }
  }
  int rc = 0;
  for (const std::size_t n : sizes) {
    if (n == 0 || n > 1000000 || sweeps == 0 || sweeps > 100000) {
      std::fputs("tern_sweep_bench: sizes 1..1000000, sweeps 1..100000\n", stderr);
      return 2;
    }
    rc |= tern::bench::run(n, sweeps);
  }
  return rc;
}
