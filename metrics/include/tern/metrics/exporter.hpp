// tern's Prometheus exposition: every metric in one list, built from per-worker statistics at
// scrape time (docs/metrics.md). The only code that includes prometheus-cpp.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tern/core/stats.hpp"

namespace tern::metrics {

// What the running server exposes besides the workers' statistics; read at scrape time.
struct Sources {
  // Calls the visitor once per worker with that worker's statistics.
  std::function<void(const std::function<void(const core::ServerStats&)>&)> for_each_worker;
  std::function<std::uint64_t(protocol::Family)> relay_ports_in_use;
  std::function<std::uint64_t(protocol::Family)> relay_ports_available;
  bool relay_ipv6 = false;                                          // export the ipv6 series too
  std::function<std::int64_t(core::Transport)> connections_active;  // kTcp, kTls
  // (reason, count) of TCP/TLS connections closed as soon as they were accepted.
  std::function<std::vector<std::pair<std::string, std::uint64_t>>()> connections_refused;
  std::string version;
  std::function<std::optional<std::int64_t>()> tls_certificate_expiry;  // unix seconds; re-read
  std::function<std::uint64_t()> steering_pins_refused;                 // null = not exported
  std::function<std::size_t()> offload_bindings;     // relay.offload; null = not exported
  std::function<std::uint64_t()> multiplexed_peers;  // relay.multiplex_port; null = not exported
  std::function<std::uint64_t()> users_loaded;
  std::function<std::uint64_t()> secrets_loaded;
  std::atomic<std::uint64_t>* reloads_succeeded = nullptr;
  std::atomic<std::uint64_t>* reloads_failed = nullptr;
  std::atomic<std::int64_t>* last_reload_success = nullptr;  // unix seconds
};

// Renders the Prometheus text format (0.0.4) for the current values.
std::string render(const Sources& sources);

}  // namespace tern::metrics
