// Runtime: builds the workers, opens the listeners on each, runs the threads, stops on signals.
#include "runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <thread>

#include "relay_addresses.hpp"
#include "router.hpp"
#include "sockets.hpp"
#include "stream_listener.hpp"
#include "tls.hpp"
#include "udp_listener.hpp"

namespace tern::net {

namespace {
constexpr auto kSweepInterval = std::chrono::seconds(1);

core::ServerDeps with_relays(core::ServerDeps deps, core::RelayProvider& relays) {
  deps.relays = &relays;
  return deps;
}
}  // namespace

// One thread, one io_context, one core with its allocations and relay sockets (DESIGN §2).
struct Worker {
  Worker(const RuntimeOptions& options, RelayPorts& ports)
      : relays(io, ports), router(relays), core(options.core, with_relays(options.deps, relays)) {
    relays.attach(core, router);
    relays.set_flush([this] { router.flush(); });
  }
  ~Worker() { relays.close_all(); }

  void sweep_every_second() {
    sweeper.expires_after(kSweepInterval);
    sweeper.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      core.sweep(core::Instant::current());
      sweep_every_second();
    });
  }

  boost::asio::io_context io{1};
  WorkerRelays relays;
  Router router;
  core::Server core;
  boost::asio::steady_timer sweeper{io};
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<StreamListener>> streams;
  std::thread thread;
};

struct Runtime::Impl {
  // Declared so that what connections and relays use outlives the workers that hold them.
  RuntimeOptions options;
  ConnectionBudget budget;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::unique_ptr<RelayPorts> ports;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<BoundListener> bound;
  boost::asio::io_context main_io{1};
  // Installed when the runtime is built, before anything is printed, so that a SIGTERM that
  // arrives early still stops tern cleanly.
  boost::asio::signal_set signals{main_io, SIGINT, SIGTERM};
  std::unique_ptr<HttpEndpoint> http;  // after main_io: destroyed first

  void open(const ListenerSpec& spec);
};

void Runtime::Impl::open(const ListenerSpec& spec) {
  unsigned short port = spec.port;
  for (auto& w : workers) {
    const int fd = open_listener_socket(spec, port);
    port = bound_port(fd);
    if (spec.transport == core::Transport::kUdp) {
      w->udp.push_back(std::make_unique<UdpListener>(w->io, fd, w->core, w->router));
      w->router.add_udp(*w->udp.back());
    } else {
      auto* ctx = spec.transport == core::Transport::kTls ? tls.get() : nullptr;
      w->streams.push_back(std::make_unique<StreamListener>(w->io, fd, w->core, w->router, ctx,
                                                            budget, options.idle_timeout));
    }
  }
  protocol::TransportAddress addr;
  protocol::TransportAddress::parse_ip(spec.address, addr);
  addr.port = port;
  bound.push_back({spec.transport, addr});
}

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  unsigned n = impl_->options.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  impl_->budget.max = impl_->options.max_connections;
  const auto& relay = impl_->options.relay;
  impl_->ports = std::make_unique<RelayPorts>(resolve_relay_addresses(relay), relay.min_port,
                                              relay.max_port);
  for (unsigned i = 0; i < n; ++i) {
    impl_->workers.push_back(std::make_unique<Worker>(impl_->options, *impl_->ports));
  }
  for (const auto& spec : impl_->options.listeners) {
    if (spec.transport == core::Transport::kTls && !impl_->tls) {
      impl_->tls = make_tls_context(impl_->options.tls);
    }
    impl_->open(spec);
  }
}

Runtime::~Runtime() {
  stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

const std::vector<BoundListener>& Runtime::listeners() const noexcept { return impl_->bound; }
unsigned Runtime::workers() const noexcept { return static_cast<unsigned>(impl_->workers.size()); }

void Runtime::serve_http(const std::string& listen, HttpHandler handler) {
  impl_->http = std::make_unique<HttpEndpoint>(impl_->main_io, listen, std::move(handler));
}

std::optional<protocol::TransportAddress> Runtime::http_address() const {
  if (!impl_->http) return std::nullopt;
  return impl_->http->local();
}

void Runtime::for_each_worker_stats(
    const std::function<void(const core::ServerStats&)>& visit) const {
  for (const auto& w : impl_->workers) visit(w->core.stats());
}

std::uint64_t Runtime::relay_ports_in_use(protocol::Family family) const {
  return impl_->ports->in_use(family);
}

std::uint64_t Runtime::relay_ports_available(protocol::Family family) const {
  if (family == protocol::Family::kIPv6 && !impl_->ports->addresses().bind_v6) return 0;
  const std::size_t used = impl_->ports->in_use(family);
  const std::size_t total = impl_->ports->capacity();
  return used >= total ? 0 : total - used;
}

std::int64_t Runtime::connections_active(core::Transport transport) const {
  return impl_->budget.by_transport[static_cast<std::size_t>(transport)].load(
      std::memory_order_relaxed);
}

bool Runtime::ready() const {
  return !impl_->bound.empty() && relay_ports_available(protocol::Family::kIPv4) > 0;
}

void Runtime::run() {
  for (auto& w : impl_->workers) {
    for (auto& l : w->udp) l->start();
    for (auto& l : w->streams) l->start();
    w->sweep_every_second();
    w->thread = std::thread([&io = w->io] {
      auto guard = boost::asio::make_work_guard(io);
      io.run();
    });
  }
  impl_->signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  auto guard = boost::asio::make_work_guard(impl_->main_io);
  impl_->main_io.run();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void Runtime::stop() {
  for (auto& w : impl_->workers) w->io.stop();
  impl_->main_io.stop();
}

}  // namespace tern::net
