// One thread, one io_context, one core with its allocations, relay sockets and listeners
// (DESIGN §2).
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "dtls_listener.hpp"
#include "offload/kernel_relay.hpp"
#include "options.hpp"
#include "relay_sockets.hpp"
#include "router.hpp"
#include "stream_listener.hpp"
#include "udp_listener.hpp"

namespace tern::net {

class Packer;

// The core's allocation events on one worker: passed on to the process's sink (logs); a UDP
// client's are pinned in the steering program (Packer) so that its datagrams keep coming here,
// and its channel routes go to the kernel relay (relay.offload) while it lasts.
class WorkerEvents final : public core::EventSink {
 public:
  WorkerEvents(core::EventSink* next, Router& router, unsigned worker)
      : next_(next), router_(router), worker_(worker) {}
  void allocation(core::AllocationEvent event, const core::AllocationEventInfo& info) override;
  void routes(std::uint64_t session, const core::FiveTuple& flow,
              std::span<const core::ChannelRoute> routes) override;
  void set_packer(Packer* packer) noexcept { packer_ = packer; }
  void set_kernel(offload::KernelRelay* kernel) noexcept { kernel_ = kernel; }
  // What the kernel relayed for this worker since the last call, for the core's counters.
  core::OffloadedTraffic take_offloaded();
  // Unpins the old 5-tuples of moved allocations once they can no longer send (the
  // allocation's expiry at the move), unless they have an allocation here again.
  void sweep(core::TimePoint now, const core::Server& core);

 private:
  struct Retiring {
    core::FiveTuple flow;
    core::TimePoint at;
  };
  core::EventSink* next_;
  Router& router_;
  unsigned worker_;
  Packer* packer_ = nullptr;
  offload::KernelRelay* kernel_ = nullptr;
  std::vector<Retiring> retiring_;
};

struct Worker {
  // `index`: this worker's number among the runtime's (RFC 8016 tickets name it).
  Worker(const RuntimeOptions& options, RelayPorts& ports, TcpRelayHub* tcp_hub = nullptr,
         unsigned index = 0);
  ~Worker();

  void sweep_every_second();
  // Runs the worker until stopped, coalescing wake-ups under load (see worker.cpp).
  void run(std::chrono::microseconds coalesce);

  boost::asio::io_context io{1};
  std::unique_ptr<core::AllocationMover> mover;  // set by the runtime; outlives `core`
  WorkerRelays relays;
  Router router;
  WorkerEvents events;  // the core's; before it
  core::Server core;
  boost::asio::steady_timer sweeper{io};
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<StreamListener>> streams;
  std::vector<std::unique_ptr<DtlsListener>> dtls;
  // Closed by a reload; kept because their cancelled waits still refer to them.
  std::vector<std::unique_ptr<UdpListener>> retired_udp;
  std::vector<std::unique_ptr<StreamListener>> retired_streams;
  std::vector<std::unique_ptr<DtlsListener>> retired_dtls;
  std::thread thread;
  std::atomic<std::chrono::steady_clock::rep> heartbeat{
      0};  // steady_clock ticks, set on its thread
};

}  // namespace tern::net
