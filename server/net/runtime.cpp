// Runtime: builds the workers, opens the listeners on each, runs the threads, stops on signals.
#include "runtime.hpp"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>

#include <algorithm>
#include <mutex>
#include <thread>

#include "relay_addresses.hpp"
#include "runtime_impl.hpp"
#include "tern/auth/mobility_ticket.hpp"
#include "tls.hpp"

namespace tern::net {

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  unsigned n = impl_->options.workers;
  if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
  impl_->budget.set_limits(impl_->options.max_connections,
                           impl_->options.max_connections_per_source);
  impl_->budget.set_trusted_proxies(impl_->options.trusted_proxies);
  const auto& relay = impl_->options.relay;
  impl_->ports =
      std::make_unique<RelayPorts>(resolve_relay_addresses(relay), relay.min_port, relay.max_port);
  // One nonce secret for all workers: a client whose connections land on different workers
  // (an RFC 6062 data connection) signs each with the nonce its control connection got.
  if (!impl_->options.deps.nonces) impl_->options.deps.nonces = core::make_nonce_issuer();
  // RFC 6062: decided at start; a reload changes its limits, not whether it is on.
  if (impl_->options.core.tcp_relay) {
    impl_->tcp_hub = std::make_unique<TcpRelayHub>();
    impl_->options.deps.tcp = std::make_shared<core::TcpConnectionTable>();
  }
  if (!impl_->options.deps.tickets) impl_->options.deps.tickets = auth::MobilityTickets::random();
  if (relay.multiplex_port != 0) impl_->share_relay_ports(n);
  impl_->start_offload();
  for (unsigned i = 0; i < n; ++i) {
    impl_->workers.push_back(
        std::make_unique<Worker>(impl_->options, *impl_->ports, impl_->tcp_hub.get(), i));
  }
  impl_->attach_movers();
  impl_->start_steering();
  for (auto& w : impl_->workers) w->events.set_kernel(impl_->kernel.get());
  for (const auto& spec : impl_->options.listeners) impl_->open(spec);
}

Runtime::~Runtime() {
  stop();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

std::vector<BoundListener> Runtime::listeners() const {
  std::vector<BoundListener> all = impl_->bound;
  all.insert(all.end(), impl_->shared_bound.begin(), impl_->shared_bound.end());
  return all;
}
unsigned Runtime::workers() const noexcept {
  return static_cast<unsigned>(impl_->workers.size());
}

const std::string& Runtime::steering() const noexcept {
  return impl_->steering;
}

const std::string& Runtime::offload() const noexcept {
  return impl_->offload;
}

std::size_t Runtime::offloaded_bindings() const {
  return impl_->kernel ? impl_->kernel->bindings() : 0;
}

std::uint64_t Runtime::steering_pins_refused() const noexcept {
  return impl_->packer ? impl_->packer->steering().pins_refused() : 0;
}

void Runtime::serve_http(const std::string& listen, HttpHandler handler, bool tls) {
  std::shared_ptr<boost::asio::ssl::context> context;
  if (tls) context = make_tls_context(impl_->options.tls, Alpn::kHttp);
  impl_->http = std::make_unique<HttpEndpoint>(impl_->main_io, listen, std::move(handler), context);
  reserve_service_port(impl_->http->local().port);
}

void Runtime::reserve_service_port(std::uint16_t port) {
  impl_->ports->add_service_port(port);
}

boost::asio::io_context& Runtime::main_context() noexcept {
  return impl_->main_io;
}

void Runtime::serve_admin(const std::string& path,
                          std::function<std::string(const std::string&)> handler) {
  impl_->admin = std::make_unique<AdminEndpoint>(impl_->main_io, path, std::move(handler));
}

std::optional<protocol::TransportAddress> Runtime::http_address() const {
  if (!impl_->http) return std::nullopt;
  return impl_->http->local();
}

void Runtime::for_each_worker_stats(
    const std::function<void(const core::ServerStats&)>& visit) const {
  for (const auto& w : impl_->workers) visit(w->core.stats());
}

const RelayAddresses& Runtime::relay_addresses() const noexcept {
  return impl_->ports->addresses();
}

std::uint64_t Runtime::multiplexed_peers() const {
  std::uint64_t peers = 0;
  for (const auto& w : impl_->workers) peers += w->relays.multiplexed_peers();
  return peers;
}

std::uint64_t Runtime::relay_ports_in_use(protocol::Family family) const {
  return impl_->ports->in_use(family);
}

std::uint64_t Runtime::relay_ports_available(protocol::Family family) const {
  const std::size_t used = impl_->ports->in_use(family);
  const std::size_t total = impl_->ports->capacity(family);
  return used >= total ? 0 : total - used;
}

std::int64_t Runtime::connections_active(core::Transport transport) const {
  return impl_->budget.active(transport);
}

std::vector<std::pair<std::string, std::uint64_t>> Runtime::connections_refused() const {
  const auto& b = impl_->budget;
  return {{"limit", b.refused(Refusal::kLimit)},
          {"per_source", b.refused(Refusal::kPerSource)},
          {"descriptors", b.refused(Refusal::kDescriptors)},
          {"proxy_header", b.refused(Refusal::kProxyHeader)}};
}

bool Runtime::trusted_proxy(const protocol::TransportAddress& source) const {
  return impl_->budget.trusted_proxy(source);
}

bool Runtime::ready() const {
  return (!impl_->bound.empty() || !impl_->shared_bound.empty()) &&
         relay_ports_available(protocol::Family::kIPv4) > 0;
}

std::size_t Runtime::reconfigure(const Reconfiguration& change) {
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::shared_ptr<const DtlsContext> dtls;
  std::shared_ptr<boost::asio::ssl::context> http_tls;
  std::shared_ptr<boost::asio::ssl::context> https;
  if (change.tls) {  // these throw before anything changes
    tls = make_tls_context(*change.tls);
    if (impl_->dtls) dtls = DtlsContext::make(*change.tls);
    if (impl_->http && impl_->http->is_tls()) {
      http_tls = make_tls_context(*change.tls, Alpn::kHttp);
    }
    if (impl_->https) https = make_tls_context(*change.tls, Alpn::kHttp);
  }
  std::atomic<std::size_t> ended{0};
  boost::asio::ssl::context* ctx = tls.get();
  impl_->budget.set_limits(change.max_connections, change.max_connections_per_source);
  impl_->budget.set_trusted_proxies(change.trusted_proxies);
  impl_->on_each_worker([&](Worker& w) {
    core::ServerDeps deps = change.deps;
    deps.events = &w.events;
    ended += w.core.reconfigure(change.core, std::move(deps));
    w.core.set_draining(impl_->draining);
    if (ctx != nullptr) {
      for (auto& l : w.streams) l->set_tls(ctx);
    }
    if (dtls) {
      for (auto& l : w.dtls) l->set_context(dtls);
    }
  });
  if (dtls) impl_->dtls = dtls;
  if (http_tls) impl_->http->set_tls(std::move(http_tls));
  if (https) impl_->https = std::move(https);        // connections keep the context they began with
  if (change.tls) impl_->options.tls = *change.tls;  // for listeners a later reload adds
  if (tls) {
    if (impl_->tls) impl_->retired_tls.push_back(std::move(impl_->tls));
    impl_->tls = std::move(tls);
  }
  return ended;
}

void Runtime::on_reload(std::function<void()> hook) {
  impl_->reload_hook = std::move(hook);
}

void Runtime::every(std::chrono::milliseconds period, std::function<void()> task) {
  auto timer = std::make_unique<boost::asio::steady_timer>(impl_->main_io);
  auto* t = timer.get();
  impl_->timers.push_back(std::move(timer));
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [t, period, task = std::move(task), tick_weak = std::weak_ptr(tick)]() {
    t->expires_after(period);
    t->async_wait([task, tick_weak](boost::system::error_code ec) {
      if (ec) return;
      task();
      if (auto next = tick_weak.lock()) (*next)();
    });
  };
  impl_->ticks.push_back(tick);
  (*tick)();
}

void Runtime::on_drain(std::function<void()> hook) {
  impl_->drain_hook = std::move(hook);
}

void Runtime::post_heartbeats() {
  for (auto& w : impl_->workers) {
    boost::asio::post(w->io, [w = w.get()] {
      w->heartbeat.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                         std::memory_order_relaxed);
    });
  }
}

bool Runtime::workers_alive(std::chrono::steady_clock::duration max_age) const {
  const auto now = std::chrono::steady_clock::now();
  for (const auto& w : impl_->workers) {
    const std::chrono::steady_clock::time_point seen{
        std::chrono::steady_clock::duration(w->heartbeat.load(std::memory_order_relaxed))};
    if (now - seen > max_age) return false;
  }
  return true;
}

void Runtime::drain(std::chrono::seconds deadline) {
  if (!impl_->draining.exchange(true)) {
    impl_->on_each_worker([](Worker& w) { w.core.set_draining(true); });
    if (impl_->drain_hook) impl_->drain_hook();
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  every(std::chrono::seconds(1), [this, until] {
    if (allocation_count() == 0 || std::chrono::steady_clock::now() >= until) stop();
  });
}

bool Runtime::draining() const noexcept {
  return impl_->draining;
}

std::vector<core::SessionInfo> Runtime::sessions() const {
  std::mutex m;
  std::vector<core::SessionInfo> all;
  const auto now = core::Instant::current();
  impl_->on_each_worker([&](Worker& w) {
    auto mine = w.core.sessions(now);
    std::lock_guard lock(m);
    all.insert(all.end(), mine.begin(), mine.end());
  });
  return all;
}

std::size_t Runtime::kill_sessions(const std::string& username, std::uint64_t id) {
  std::atomic<std::size_t> ended{0};
  impl_->on_each_worker([&](Worker& w) { ended += w.core.kill_sessions(username, id); });
  return ended;
}

std::size_t Runtime::allocation_count() const {
  std::size_t n = 0;
  for (const auto& w : impl_->workers) {
    for (const auto& per_family : w->core.stats().allocations_active) {
      for (const auto& g : per_family)
        n += static_cast<std::size_t>(std::max<std::int64_t>(0, g.get()));
    }
  }
  return n;
}

std::chrono::seconds Runtime::uptime() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                          impl_->started);
}

void Runtime::run() {
  impl_->running = true;
  for (auto& w : impl_->workers) {
    for (auto& l : w->udp) l->start();
    for (auto& l : w->streams) l->start();
    for (auto& l : w->dtls) l->start();
    w->sweep_every_second();
    w->heartbeat = std::chrono::steady_clock::now().time_since_epoch().count();
    w->thread = std::thread([w = w.get(), c = impl_->options.coalesce] { w->run(c); });
    // "tern-worker-N" in top -H, perf and /proc/PID/task/*/comm.
    const std::string name = "tern-worker-" + std::to_string(&w - impl_->workers.data());
    pthread_setname_np(w->thread.native_handle(), name.substr(0, 15).c_str());
  }
  impl_->signals.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) stop();
  });
  impl_->drain_signal.async_wait([this](boost::system::error_code ec, int) {
    if (!ec) drain(std::chrono::minutes(10));
  });
  wait_for_reload_signal();
  if (impl_->packer) every(std::chrono::milliseconds(200), [this] { impl_->sample_load(); });
  auto guard = boost::asio::make_work_guard(impl_->main_io);
  impl_->main_io.run();
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
}

void Runtime::wait_for_reload_signal() {
  impl_->reload_signal.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (impl_->reload_hook) impl_->reload_hook();
    wait_for_reload_signal();
  });
}

void Runtime::stop() {
  impl_->running = false;
  for (auto& w : impl_->workers) w->io.stop();
  impl_->main_io.stop();
}

}  // namespace tern::net
