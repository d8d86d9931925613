// The running server: one worker (thread + io_context + core) per core, listeners on each.
#pragma once

#include <memory>
#include <vector>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "http_endpoint.hpp"
#include "options.hpp"

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

  const std::vector<BoundListener>& listeners() const noexcept;
  unsigned workers() const noexcept;
  // Serves HTTP GETs on `listen` from the main thread (metrics, health). Throws on bind errors.
  void serve_http(const std::string& listen, HttpHandler handler);
  std::optional<protocol::TransportAddress> http_address() const;

  // For the metrics scrape, from any thread.
  void for_each_worker_stats(const std::function<void(const core::ServerStats&)>& visit) const;
  // Per relay family; a family without relay sockets has none in use and none available.
  std::uint64_t relay_ports_in_use(protocol::Family family) const;
  std::uint64_t relay_ports_available(protocol::Family family) const;
  std::int64_t connections_active(core::Transport transport) const;
  // Listeners are open and relay ports are left (and, later, not draining).
  bool ready() const;

  // Serves until stop(), SIGINT or SIGTERM.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
