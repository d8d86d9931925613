// Worker: the sweep timer and the run loop with adaptive coalescing.
#include "worker.hpp"

#include <sys/prctl.h>

#include <stdexcept>
#include <string>

#include <boost/asio/executor_work_guard.hpp>

#include "coalescing.hpp"
#include "packer.hpp"
#include "ready_pass.hpp"
#include "udp_listener.hpp"
#include "wake_stats.hpp"

namespace tern::net {

namespace {
constexpr auto kSweepInterval = std::chrono::seconds(1);
// The batch a coalesced wake-up should find: coalescing starts when the rate would fill it.
constexpr std::uint64_t kBusyWake = 32;

core::ServerDeps with_relays(core::ServerDeps deps, core::RelayProvider& relays,
                             core::EventSink& events) {
  deps.relays = &relays;
  deps.events = &events;
  return deps;
}

core::ServerOptions with_index(core::ServerOptions options, unsigned index) {
  options.worker = static_cast<std::uint16_t>(index);
  return options;
}
}  // namespace

Worker::Worker(const RuntimeOptions& options, RelayPorts& ports, TcpRelayHub* tcp_hub,
               unsigned index)
    : relays(io, ports, tcp_hub),
      router(relays),
      events(options.deps.events, router, index),
      core(with_index(options.core, index), with_relays(options.deps, relays, events)) {
  relays.attach(core, router);
  relays.set_flush([this] { router.flush(); });
  if (options.relay.multiplex_port != 0) {
    std::string why;
    if (!relays.open_shared(static_cast<std::uint16_t>(options.relay.multiplex_port + 2 * index),
                            why)) {
      throw std::runtime_error(why);
    }
  }
}

Worker::~Worker() {
  relays.close_all();
}

void WorkerEvents::allocation(core::AllocationEvent event, const core::AllocationEventInfo& info) {
  if (next_ != nullptr) next_->allocation(event, info);
  if (kernel_ != nullptr && event != core::AllocationEvent::kCreated &&
      event != core::AllocationEvent::kRefreshed && event != core::AllocationEvent::kMoved) {
    kernel_->clear(info.session_id);  // ended, or gone to another worker
  }
  if (packer_ == nullptr || info.flow == nullptr) return;
  const core::FiveTuple& flow = *info.flow;
  if (flow.transport != core::Transport::kUdp) return;
  switch (event) {
    case core::AllocationEvent::kMoved:
      if (info.previous != nullptr) retiring_.push_back({*info.previous, info.expires});
      [[fallthrough]];
    case core::AllocationEvent::kCreated:
      packer_->steering().pin(flow.server, router_.udp_sender(flow), worker_);
      break;
    case core::AllocationEvent::kMovedAway:  // pinned here while its data is passed on
      retiring_.push_back({flow, info.expires});
      break;
    case core::AllocationEvent::kDeleted:
    case core::AllocationEvent::kExpired:
    case core::AllocationEvent::kClosed:
      packer_->steering().unpin(flow.server, router_.udp_sender(flow));
      break;
    case core::AllocationEvent::kRefreshed:
      return;
  }
  packer_->decide();
}

void WorkerEvents::routes(std::uint64_t session, const core::FiveTuple& flow,
                          std::span<const core::ChannelRoute> routes) {
  if (kernel_ == nullptr) return;
  std::vector<offload::KernelBinding> bindings;
  // The kernel relays what the wire shows: a client behind a PROXY header stays in user space.
  // And only while its listener is there: one a reload removed relays nothing in user space.
  const bool direct = flow.transport == core::Transport::kUdp &&
                      flow.client.family == protocol::Family::kIPv4 &&
                      router_.udp_sender(flow) == flow.client && router_.has_udp(flow.server);
  for (const core::ChannelRoute& r : routes) {
    const auto relay = router_.relays().local_address(r.relay);
    if (!direct || !relay || relay->family != protocol::Family::kIPv4 ||
        r.peer.family != protocol::Family::kIPv4) {
      continue;
    }
    bindings.push_back({flow.client, flow.server, *relay, r.peer, r.channel, r.expires});
  }
  kernel_->set(session, worker_, bindings);
}

core::OffloadedTraffic WorkerEvents::take_offloaded() {
  if (kernel_ == nullptr) return {};
  const offload::KernelTraffic t = kernel_->take(worker_);
  return {t.to_peer_packets, t.to_peer_bytes, t.to_client_packets, t.to_client_bytes};
}

void WorkerEvents::sweep(core::TimePoint now, const core::Server& core) {
  if (retiring_.empty() || packer_ == nullptr) return;
  std::erase_if(retiring_, [&](const Retiring& r) {
    if (r.at > now) return false;
    if (!core.has_allocation(r.flow)) {  // a pin another worker set since is left alone
      packer_->steering().unpin_if(r.flow.server, router_.udp_sender(r.flow), worker_);
    }
    return true;
  });
}

void Worker::sweep_every_second() {
  sweeper.expires_after(kSweepInterval);
  sweeper.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto now = core::Instant::current();
    core.sweep(now);
    events.sweep(now.steady, core);
    core.count_offloaded(events.take_offloaded());
    sweep_every_second();
  });
}

// Runs the worker until stopped. Coalescing (a software form of interrupt coalescing) is
// adaptive: only while datagrams arrive fast enough that a wake-up every `coalesce` would find
// a batch of kBusyWake (judged over a few milliseconds, Coalescing) does the worker sleep out
// the rest of `coalesce` before waiting again, and then runs each ready handler once (each
// socket read once, a batch), so that under load each wake-up handles a batch instead of one
// datagram. Below that rate, and for a single burst however large, it never
// sleeps: each datagram is handled as soon as it arrives, with one reactor wait per wake-up
// (sleeping there costs a context switch and adds latency for nothing).
void Worker::run(std::chrono::microseconds coalesce) {
  auto guard = boost::asio::make_work_guard(io);
  if (coalesce.count() <= 0) {
    io.run();
    return;
  }
  prctl(PR_SET_TIMERSLACK, 1000UL);  // sleep 1 us past the interval, not the default 50 us
  auto woke = std::chrono::steady_clock::now();
  Coalescing policy(coalesce, kBusyWake, woke);
  bool busy = false;
  while (!io.stopped()) {
    if (busy) {
      const auto now = std::chrono::steady_clock::now();
      if (now - woke < coalesce) std::this_thread::sleep_for(woke + coalesce - now);
    }
    const std::uint64_t before = datagrams_received();
    if (io.run_one() == 0) break;
    woke = std::chrono::steady_clock::now();
    if (busy) run_ready_once(io);  // everything ready now, before sleeping again
    busy = policy.after_wake(datagrams_received() - before, woke);
  }
}

}  // namespace tern::net
