// The running server: one worker (thread + io_context + core) per core, listeners on each.
#pragma once

#include <memory>
#include <vector>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/ip/tcp.hpp>

#include "http_endpoint.hpp"
#include "options.hpp"
#include "relay_ports.hpp"
#include "tls.hpp"

namespace tern::net {

struct BoundListener {
  core::Transport transport;
  protocol::TransportAddress address;  // with the port actually bound
};

class Runtime {
 public:
  // Opens every listener (throws std::runtime_error naming the listener when one cannot be
  // opened); nothing is served until run().
  explicit Runtime(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Every listener, shared ports included (as one tcp and one tls entry each).
  std::vector<BoundListener> listeners() const;
  unsigned workers() const noexcept;
  // How new UDP clients reach workers: "pack (eBPF)", or "hash" with the reason when packing
  // was wanted but could not load.
  const std::string& steering() const noexcept;
  // relay.offload: "tc on eth0, eth1" or "off (why)"; channel bindings in the kernel now.
  const std::string& offload() const noexcept;
  std::size_t offloaded_bindings() const;
  // relay.multiplex_port: peer addresses claimed on the workers' shared relay sockets.
  std::uint64_t multiplexed_peers() const;
  // Clients with allocations that could not be pinned (the steering table was full).
  std::uint64_t steering_pins_refused() const noexcept;
  // Serves HTTP GETs on `listen` from the main thread (metrics, health), over TLS with the
  // runtime's certificate when `tls`. Throws on bind errors or when the certificate cannot load.
  void serve_http(const std::string& listen, HttpHandler handler, bool tls = false);
  std::optional<protocol::TransportAddress> http_address() const;
  // One port for TURN over TCP and TLS and for the web endpoints over HTTP and HTTPS, told apart
  // per connection (PortMux). TURN connections go to the workers; web ones to `web`, on the main
  // thread, with the HTTPS context for TLS ones (null for plain HTTP). A TLS client that offered
  // no ALPN name goes to a worker first and comes to `web` with its handshake done: `session`
  // set, `read` the plaintext already read. Main thread; throws when the port cannot be opened
  // or the certificate cannot be loaded.
  using WebSink =
      std::function<void(boost::asio::ip::tcp::socket, std::shared_ptr<boost::asio::ssl::context>,
                         SslSession session, std::vector<std::uint8_t> read)>;
  void serve_shared_port(const std::string& address, unsigned short port, WebSink web);
  // A port another part of tern serves on (signaling): relays never send to it on tern's own
  // addresses. Listeners and serve_http register theirs.
  void reserve_service_port(std::uint16_t port);
  // Serves the admin API on a Unix socket from the main thread. Throws on bind errors.
  void serve_admin(const std::string& path, std::function<std::string(const std::string&)> handler);

  // The main thread's io_context (admin, metrics, signaling run there).
  boost::asio::io_context& main_context() noexcept;

  // For the metrics scrape, from any thread.
  void for_each_worker_stats(const std::function<void(const core::ServerStats&)>& visit) const;
  // Per relay family; a family without relay sockets has none in use and none available.
  std::uint64_t relay_ports_in_use(protocol::Family family) const;
  // The relay addresses as resolved at start: where relays bind and what clients are told.
  const RelayAddresses& relay_addresses() const noexcept;
  std::uint64_t relay_ports_available(protocol::Family family) const;
  std::int64_t connections_active(core::Transport transport) const;
  // TCP and TLS connections closed as soon as they were accepted, by reason (metric label).
  std::vector<std::pair<std::string, std::uint64_t>> connections_refused() const;
  // `source` is in connections.trusted_proxies (as last loaded); any thread.
  bool trusted_proxy(const protocol::TransportAddress& source) const;
  // Listeners are open and relay ports are left (and, later, not draining).
  bool ready() const;

  // Live changes (DESIGN §4). New core options and policies for every worker, applied on each
  // worker's thread; with `tls`, a new certificate for new TLS handshakes (open connections
  // keep theirs). Throws std::runtime_error, before changing anything, when the certificate
  // cannot be loaded. Returns how many allocations ended (users that were removed).
  struct Reconfiguration {
    core::ServerOptions core;
    core::ServerDeps deps;
    std::optional<TlsFiles> tls;
    std::size_t max_connections = 10000;  // for new connections; open ones stay
    std::size_t max_connections_per_source = 1000;
    std::vector<core::Cidr> trusted_proxies;
  };
  std::size_t reconfigure(const Reconfiguration& change);
  // Opens the listeners of `wanted` that are not open yet and closes those no longer wanted,
  // leaving the others (and their connections) alone. Throws, changing nothing, when a new
  // listener cannot be opened. Returns how many listeners changed. Main thread only.
  std::size_t update_listeners(const std::vector<ListenerSpec>& wanted);
  // Called on the main thread on SIGHUP.
  void on_reload(std::function<void()> hook);
  // Called on the main thread when draining starts (SIGTERM or the admin command).
  void on_drain(std::function<void()> hook);
  // Asks each worker to record a heartbeat (main thread; call it periodically).
  void post_heartbeats();
  // Whether every worker recorded a heartbeat within `max_age`: a stuck worker stops
  // answering post_heartbeats(), and this turns false (the watchdog and /healthz).
  bool workers_alive(std::chrono::steady_clock::duration max_age) const;
  // Runs `task` on the main thread every `period` (file watching).
  void every(std::chrono::milliseconds period, std::function<void()> task);

  // Refuses new allocations from now on; exits run() once none is left or at the deadline.
  void drain(std::chrono::seconds deadline);
  bool draining() const noexcept;
  std::vector<core::SessionInfo> sessions() const;
  std::size_t kill_sessions(const std::string& username, std::uint64_t id);
  std::size_t allocation_count() const;
  std::chrono::seconds uptime() const;

  // Serves until stop(), SIGINT, or the end of a drain (SIGTERM drains with a 10-minute deadline).
  void run();
  void stop();

 private:
  void wait_for_reload_signal();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
