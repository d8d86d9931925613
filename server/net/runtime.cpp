// Runtime: builds the workers, opens the listeners on each, runs the threads, stops on signals.
#include "runtime.hpp"

#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <future>
#include <map>
#include <thread>

#include "admin_endpoint.hpp"
#include "relay_addresses.hpp"
#include "router.hpp"
#include "sockets.hpp"
#include "stream_listener.hpp"
#include "tls.hpp"
#include "udp_listener.hpp"
#include "wake_stats.hpp"

namespace tern::net {

namespace {
constexpr auto kSweepInterval = std::chrono::seconds(1);

core::ServerDeps with_relays(core::ServerDeps deps, core::RelayProvider& relays) {
  deps.relays = &relays;
  return deps;
}
}  // namespace

// One thread, one io_context, one core with its allocations and relay sockets (DESIGN §2).
// Datagrams one wake-up must receive for the worker to count as busy and start coalescing.
constexpr std::uint64_t kBusyWake = 32;

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

  // Runs the worker until stopped. Coalescing (a software form of interrupt coalescing) is
  // adaptive: only after a busy wake-up (one that received at least kBusyWake datagrams) does
  // the worker sleep out the rest of `coalesce` before waiting again, so that under load each
  // wake-up handles a batch instead of one datagram. At low load it never sleeps and never
  // polls: each datagram is handled as soon as it arrives, with one reactor wait per wake-up
  // (sleeping there costs a context switch per datagram and adds latency for nothing).
  void run(std::chrono::microseconds coalesce) {
    auto guard = boost::asio::make_work_guard(io);
    if (coalesce.count() <= 0) {
      io.run();
      return;
    }
    prctl(PR_SET_TIMERSLACK, 1000UL);  // sleep 1 us past the interval, not the default 50 us
    auto woke = std::chrono::steady_clock::now();
    bool busy = false;
    while (!io.stopped()) {
      if (busy) {
        const auto now = std::chrono::steady_clock::now();
        if (now - woke < coalesce) std::this_thread::sleep_for(woke + coalesce - now);
      }
      const std::uint64_t before = datagrams_received();
      if (io.run_one() == 0) break;
      if (busy) {
        woke = std::chrono::steady_clock::now();
        io.poll();  // everything ready now, before sleeping again
      }
      const std::uint64_t received = datagrams_received() - before;
      if (!busy && received >= kBusyWake) woke = std::chrono::steady_clock::now();
      busy = received >= kBusyWake;
    }
  }

  boost::asio::io_context io{1};
  WorkerRelays relays;
  Router router;
  core::Server core;
  boost::asio::steady_timer sweeper{io};
  std::vector<std::unique_ptr<UdpListener>> udp;
  std::vector<std::unique_ptr<StreamListener>> streams;
  std::vector<std::unique_ptr<UdpListener>> retired_udp;  // closed by a reload
  std::vector<std::unique_ptr<StreamListener>> retired_streams;
  std::thread thread;
  std::atomic<std::chrono::steady_clock::rep> heartbeat{
      0};  // steady_clock ticks, set on its thread
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
  boost::asio::signal_set signals{main_io, SIGINT};
  boost::asio::signal_set drain_signal{main_io, SIGTERM};
  boost::asio::signal_set reload_signal{main_io, SIGHUP};
  std::function<void()> reload_hook;
  std::function<void()> drain_hook;
  std::vector<std::unique_ptr<boost::asio::ssl::context>> retired_tls;  // open connections use them
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  std::vector<std::shared_ptr<std::function<void()>>> ticks;
  std::atomic<bool> draining{false};
  std::atomic<bool> running{false};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Runs f(worker) on every worker's thread and waits for all of them.
  template <class F>
  void on_each_worker(F f) {
    std::vector<std::future<void>> done;
    for (auto& w : workers) {
      if (!running) {
        f(*w);
        continue;
      }
      auto task = std::make_shared<std::packaged_task<void()>>([&f, &w] { f(*w); });
      done.push_back(task->get_future());
      boost::asio::post(w->io, [task] { (*task)(); });
    }
    for (auto& d : done) d.wait();
  }
  std::unique_ptr<HttpEndpoint> http;  // after main_io: destroyed first
  std::unique_ptr<AdminEndpoint> admin;

  void open(const ListenerSpec& spec);
  std::vector<int> open_fds(const ListenerSpec& spec, unsigned short& port);
  void attach(Worker& w, const ListenerSpec& spec, int fd, bool start);
  void detach(Worker& w, const BoundListener& l);
  std::vector<ListenerSpec> configured;  // as in the config, parallel to `bound`
};

std::vector<int> Runtime::Impl::open_fds(const ListenerSpec& spec, unsigned short& port) {
  std::vector<int> fds;
  try {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      fds.push_back(open_listener_socket(spec, port));
      port = bound_port(fds.back());
    }
  } catch (...) {
    for (int fd : fds) ::close(fd);
    throw;
  }
  return fds;
}

void Runtime::Impl::attach(Worker& w, const ListenerSpec& spec, int fd, bool start) {
  if (spec.transport == core::Transport::kUdp) {
    w.udp.push_back(std::make_unique<UdpListener>(w.io, fd, w.core, w.router));
    w.router.add_udp(*w.udp.back());
    if (start) w.udp.back()->start();
  } else {
    auto* ctx = spec.transport == core::Transport::kTls ? tls.get() : nullptr;
    w.streams.push_back(std::make_unique<StreamListener>(w.io, fd, w.core, w.router, ctx, budget,
                                                         options.stream_timeouts));
    if (start) w.streams.back()->start();
  }
}

void Runtime::Impl::detach(Worker& w, const BoundListener& l) {
  for (auto it = w.udp.begin(); it != w.udp.end(); ++it) {
    if (l.transport == core::Transport::kUdp && (*it)->local() == l.address) {
      (*it)->stop();
      w.router.remove_udp(**it);
      w.retired_udp.push_back(std::move(*it));  // its cancelled wait still refers to it
      w.udp.erase(it);
      return;
    }
  }
  for (auto it = w.streams.begin(); it != w.streams.end(); ++it) {
    const bool tls_listener = l.transport == core::Transport::kTls;
    if (l.transport != core::Transport::kUdp && (*it)->local() == l.address &&
        (*it)->is_tls() == tls_listener) {
      (*it)->stop();
      w.retired_streams.push_back(std::move(*it));
      w.streams.erase(it);
      return;
    }
  }
}

void Runtime::Impl::open(const ListenerSpec& spec) {
  unsigned short port = spec.port;
  const auto fds = open_fds(spec, port);
  for (std::size_t i = 0; i < workers.size(); ++i) attach(*workers[i], spec, fds[i], false);
  protocol::TransportAddress addr;
  protocol::TransportAddress::parse_ip(spec.address, addr);
  addr.port = port;
  ports->add_service_port(port);  // never a peer, whatever peers.allow says
  bound.push_back({spec.transport, addr});
  configured.push_back(spec);
}

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

const std::vector<BoundListener>& Runtime::listeners() const noexcept {
  return impl_->bound;
}
unsigned Runtime::workers() const noexcept {
  return static_cast<unsigned>(impl_->workers.size());
}

void Runtime::serve_http(const std::string& listen, HttpHandler handler) {
  impl_->http = std::make_unique<HttpEndpoint>(impl_->main_io, listen, std::move(handler));
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
  return !impl_->bound.empty() && relay_ports_available(protocol::Family::kIPv4) > 0;
}

std::size_t Runtime::reconfigure(const Reconfiguration& change) {
  std::unique_ptr<boost::asio::ssl::context> tls;
  if (change.tls) tls = make_tls_context(*change.tls);  // throws before anything changes
  std::atomic<std::size_t> ended{0};
  boost::asio::ssl::context* ctx = tls.get();
  impl_->budget.set_limits(change.max_connections, change.max_connections_per_source);
  impl_->budget.set_trusted_proxies(change.trusted_proxies);
  impl_->on_each_worker([&](Worker& w) {
    core::ServerDeps deps = change.deps;
    deps.events = impl_->options.deps.events;
    ended += w.core.reconfigure(change.core, std::move(deps));
    w.core.set_draining(impl_->draining);
    if (ctx != nullptr) {
      for (auto& l : w.streams) l->set_tls(ctx);
    }
  });
  if (tls) {
    if (impl_->tls) impl_->retired_tls.push_back(std::move(impl_->tls));
    impl_->tls = std::move(tls);
  }
  return ended;
}

namespace {
bool same_spec(const ListenerSpec& a, const ListenerSpec& b) {
  return a.transport == b.transport && a.address == b.address && a.port == b.port;
}
}  // namespace

std::size_t Runtime::update_listeners(const std::vector<ListenerSpec>& wanted) {
  auto& im = *impl_;
  std::vector<std::size_t> remove;
  for (std::size_t i = 0; i < im.configured.size(); ++i) {
    if (std::none_of(wanted.begin(), wanted.end(),
                     [&](const ListenerSpec& w) { return same_spec(w, im.configured[i]); })) {
      remove.push_back(i);
    }
  }
  struct Added {
    ListenerSpec spec;
    std::vector<int> fds;
    unsigned short port;
  };
  std::vector<Added> added;
  try {
    for (const auto& w : wanted) {
      if (std::any_of(im.configured.begin(), im.configured.end(),
                      [&](const ListenerSpec& c) { return same_spec(w, c); })) {
        continue;
      }
      if (w.transport == core::Transport::kTls && !im.tls)
        im.tls = make_tls_context(im.options.tls);
      unsigned short port = w.port;
      auto fds = im.open_fds(w, port);
      added.push_back({w, std::move(fds), port});
    }
  } catch (...) {
    for (auto& a : added) {
      for (int fd : a.fds) ::close(fd);
    }
    throw;  // nothing changed
  }
  std::vector<BoundListener> gone;
  for (std::size_t i : remove) gone.push_back(im.bound[i]);
  std::size_t index = 0;
  std::map<const Worker*, std::size_t> worker_index;
  for (auto& w : im.workers) worker_index[w.get()] = index++;
  im.on_each_worker([&](Worker& w) {
    for (const auto& l : gone) im.detach(w, l);
    for (const auto& a : added) im.attach(w, a.spec, a.fds[worker_index[&w]], im.running);
  });
  for (auto it = remove.rbegin(); it != remove.rend(); ++it) {
    im.bound.erase(im.bound.begin() + static_cast<std::ptrdiff_t>(*it));
    im.configured.erase(im.configured.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  for (const auto& a : added) {
    protocol::TransportAddress addr;
    protocol::TransportAddress::parse_ip(a.spec.address, addr);
    addr.port = a.port;
    im.bound.push_back({a.spec.transport, addr});
    im.configured.push_back(a.spec);
  }
  return remove.size() + added.size();
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
