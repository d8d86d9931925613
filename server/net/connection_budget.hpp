// ConnectionBudget: the process-wide and per-source limits on TCP and TLS client connections,
// and the networks trusted to put a PROXY protocol header ahead of theirs.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tern/core/peer_policy.hpp"

#include "tern/core/five_tuple.hpp"
#include "tern/protocol/address.hpp"

namespace tern::net {

// Why a connection was closed as soon as it was accepted; indexes refused().
// kProxyHeader: a PROXY header missing, malformed, or sent from a network not trusted to.
enum class Refusal : std::uint8_t { kLimit, kPerSource, kDescriptors, kProxyHeader };
inline constexpr std::size_t kRefusalCount = 4;

class ConnectionBudget {
 public:
  void set_limits(std::size_t max, std::size_t per_source);  // 0 per source = no limit
  void set_trusted_proxies(std::vector<core::Cidr> networks);
  bool trusted_proxy(const protocol::TransportAddress& source) const;
  // Takes one connection from `source`, or counts the refusal and returns false. A trusted
  // proxy's connections are not held to the per-source limit: the clients it names are.
  bool try_acquire(const protocol::TransportAddress& source, bool limit_source = true);
  // Moves a connection counted under `from` (a proxy) to `to` (the client its header names),
  // held to the per-source limit; false (and counted) when `to` is over it or when another
  // proxied connection, on any worker, names the same address and port.
  bool try_transfer(const protocol::TransportAddress& from, const protocol::TransportAddress& to);
  // `transferred`: the connection was moved to `source` by try_transfer.
  void release(const protocol::TransportAddress& source, bool transferred = false);
  void count_refusals(Refusal why, std::uint64_t n);

  std::atomic<std::int64_t>& by_transport(core::Transport t) {
    return by_transport_[static_cast<std::size_t>(t)];
  }
  std::int64_t active(core::Transport t) const {
    return by_transport_[static_cast<std::size_t>(t)].load(std::memory_order_relaxed);
  }
  std::uint64_t refused(Refusal why) const {
    return refused_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mutex_;
  std::size_t max_ = 0;
  std::size_t per_source_ = 0;
  std::size_t active_ = 0;
  std::unordered_map<std::string, std::uint32_t> by_source_;  // IP bytes -> open connections
  std::vector<core::Cidr> trusted_proxies_;
  std::unordered_set<std::string> proxied_clients_;  // IP and port bytes named by PROXY headers
  std::array<std::atomic<std::int64_t>, core::kTransportCount>
      by_transport_{};  // [core::Transport], for metrics
  std::array<std::atomic<std::uint64_t>, kRefusalCount> refused_{};
};

}  // namespace tern::net
