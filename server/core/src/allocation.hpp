// Allocation state (RFC 8656 §2.2-2.5): relayed addresses, permissions, channel bindings, key.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "tern/core/five_tuple.hpp"
#include "tern/core/relay.hpp"
#include "tern/protocol/message.hpp"

namespace tern::core {

// The key an allocation authenticated with; it stays in force for the allocation's life even
// when credentials are rotated (DESIGN §4).
struct SessionKey {
  std::string username;
  std::string quota_user;           // the user part of a REST username, else the username
  std::vector<std::uint8_t> key;    // MD5 (16 bytes) or SHA-256 (32 bytes) long-term key
  bool sha256_integrity = false;    // answer with MESSAGE-INTEGRITY-SHA256 instead of -INTEGRITY
  std::optional<WallTime> expires;  // TURN REST credentials and access tokens carry an expiry
  // From an RFC 7635 access token: each new token (Allocate, Refresh) brings a new key and
  // may name another key id; the allocation takes both.
  bool token = false;
  // Who must sign to act for the allocation from elsewhere (RFC 8016 moves, RFC 6062
  // ConnectionBind): the user; for a token, whoever holds its mac_key (a key id is shared by
  // every token its server issues, and a token names no user).
  std::string owner() const {
    if (!token) return username;
    std::string out = username;
    out.push_back('\0');
    out.append(key.begin(), key.end());
    return out;
  }
};

struct Permission {
  protocol::TransportAddress ip;  // port ignored: permissions are per IP (RFC 8656 §9)
  TimePoint expires;
};

struct ChannelBinding {
  // A number stays tied to its peer for 5 minutes after the binding expires (RFC 8656 §12).
  static constexpr auto kQuarantine = std::chrono::minutes(5);
  std::uint16_t number = 0;
  protocol::TransportAddress peer;
  TimePoint expires;  // after this, the number may not be reused for another peer for 5 min
  // The peer policy's verdict, cached for the ChannelData path; valid while neither the
  // policy (reload) nor the set of live relays changed since it was computed.
  mutable bool allowed = false;
  mutable std::uint64_t checked_epoch = ~std::uint64_t{0};
  mutable std::uint64_t checked_relays = 0;
};

// The last answer to a request on the allocation, for its retransmissions: kept 40 s (RFC 8489
// §6.2.1: a client gives up after 39.5 s), then released by the sweep.
struct CachedResponse {
  static constexpr auto kKept = std::chrono::seconds(40);
  std::uint16_t method = 0;
  protocol::TransactionId tid{};
  std::vector<std::uint8_t> bytes;
  TimePoint at{};
  void set(std::uint16_t m, const protocol::TransactionId& t, std::span<const std::uint8_t> reply,
           TimePoint now) {
    method = m;
    tid = t;
    bytes.assign(reply.begin(), reply.end());
    at = now;
  }
};

// The sweep's queue: each allocation's next deadline, earliest first, once per allocation.
using DueQueue = std::multimap<TimePoint, FiveTuple>;

struct Allocation {
  std::uint64_t session_id = 0;
  FiveTuple flow;
  std::vector<RelayEndpoint> relays;  // one, or two for a dual allocation (IPv4 first)
  TimePoint expires;
  SessionKey key;
  std::vector<Permission> permissions;
  std::vector<ChannelBinding> channels;
  CachedResponse last;  // for retransmitted requests (RFC 8656 §7.2, RFC 8489 §6.3.1)
  // RFC 6062: the relayed address is a TCP listener; peers are reached with Connect.
  bool tcp = false;
  struct PendingConnect {
    ConnectionId id = 0;
    protocol::TransactionId tid{};
    bool fingerprint = false;
  };
  std::vector<PendingConnect> connects;  // Connect requests waiting for their TCP handshake
  // RFC 8016: the client asked for a ticket; the serial of the last one handed out.
  bool mobile = false;
  std::uint16_t ticket_serial = 0;
  // Where the quota counted it: the client's address when it was made (a move keeps it).
  protocol::TransportAddress quota_source;
  // RFC 8016 §3.2.2: the 5-tuple this allocation answered to before its last move. It is
  // still served until data (Send, ChannelData) comes from the new one, or it closes: data
  // from peers goes there, and data from it is relayed.
  std::optional<FiveTuple> previous;
  const FiveTuple& data_flow() const noexcept { return previous ? *previous : flow; }
  // Kept by AllocationTable: its entry in the sweep's queue, and what it counted as live.
  DueQueue::iterator due{};
  bool queued = false;
  std::uint32_t counted_permissions = 0;
  std::uint32_t counted_channels = 0;

  const RelayEndpoint* relay_for(protocol::Family family) const noexcept;
  bool has_permission(const protocol::TransportAddress& peer, TimePoint now) const noexcept;
  // Installs a permission for the peer's IP, or moves its expiry to `expires` (RFC 8656 §9).
  void grant_permission(protocol::TransportAddress peer, TimePoint expires);
  const ChannelBinding* channel_by_number(std::uint16_t number, TimePoint now) const noexcept;
  const ChannelBinding* channel_by_peer(const protocol::TransportAddress& peer,
                                        TimePoint now) const noexcept;
};

// Allocations of one worker, by client 5-tuple and by relay socket.
class AllocationTable {
 public:
  Allocation* find(const FiveTuple& flow) noexcept;
  const Allocation* find(const FiveTuple& flow) const noexcept;
  Allocation* by_relay(RelayId id) noexcept;
  Allocation& insert(Allocation a);
  // Takes `a` in under its 5-tuple (which stops any other allocation's use of it as previous).
  // Removes allocations whose time has passed, calling `on_removed` first for each, and
  // drops expired permissions and channel bindings of the others. Only allocations with
  // something due are looked at (a queue of deadlines), so a sweep costs what expires, not
  // what is held. Returns how many allocations it looked at.
  template <class F>
  std::size_t sweep(TimePoint now, F&& on_removed);
  // `a`'s lifetime, permissions or channels changed (Refresh, CreatePermission, ChannelBind):
  // the sweep looks at it again by its first deadline, and the live counts follow.
  void touch(Allocation& a, TimePoint now);
  // Permissions and channel bindings live at the last sweep or touch, over all allocations.
  std::size_t live_permissions() const noexcept { return live_permissions_; }
  std::size_t live_channels() const noexcept { return live_channels_; }
  void erase(const FiveTuple& flow);
  void unindex_relay(RelayId id) { by_relay_.erase(id); }
  // The allocation that asked for connection `id` with a Connect (RFC 6062 §5.2), and that
  // Connect, taken off its list; once, and nothing when the allocation is gone.
  void index_connect(ConnectionId id, const FiveTuple& flow) { by_connect_[id] = flow; }
  struct TakenConnect {
    Allocation* allocation = nullptr;
    Allocation::PendingConnect connect;
  };
  std::optional<TakenConnect> take_connect(ConnectionId id);
  Allocation* find_session(std::uint64_t session) noexcept;
  // The allocation of `from` now answers to `to` (RFC 8016); its address may change. With
  // `keep_previous`, `from` stays its previous 5-tuple.
  Allocation& rekey(const FiveTuple& from, const FiveTuple& to, bool keep_previous);
  // The allocation whose previous 5-tuple is `flow` (RFC 8016 §3.2.2), if any.
  Allocation* find_previous(const FiveTuple& flow) noexcept;
  // Data came from the allocation's current 5-tuple: the previous one is done with.
  void settle(Allocation& a);
  // Removes the allocation of `flow` and hands it over whole.
  Allocation take(const FiveTuple& flow);
  // The allocation of `flow` left for `worker` (RFC 8016): its data from `flow` is passed on
  // there until `until` (the allocation's expiry when it left).
  void moved_away(const FiveTuple& flow, std::uint16_t worker, TimePoint until);
  std::optional<std::uint16_t> moved_to(const FiveTuple& flow, TimePoint now) const noexcept;
  std::size_t size() const noexcept { return by_flow_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [flow, a] : by_flow_) f(a);
  }

 private:
  std::unordered_map<FiveTuple, Allocation, FiveTupleHash> by_flow_;
  std::unordered_map<RelayId, FiveTuple> by_relay_;
  std::unordered_map<ConnectionId, FiveTuple> by_connect_;
  std::unordered_map<FiveTuple, FiveTuple, FiveTupleHash> previous_;  // previous -> current
  struct MovedAway {
    std::uint16_t worker = 0;
    TimePoint until;
  };
  std::unordered_map<FiveTuple, MovedAway, FiveTupleHash> moved_away_;
  DueQueue due_;  // one entry per allocation, moved whenever its first deadline moves
  TimePoint now_{};
  std::size_t live_permissions_ = 0;
  std::size_t live_channels_ = 0;
  void forget_previous(Allocation& a);
  // Takes `a` out of the live counts and the queue.
  void unlist(Allocation& a) noexcept;
  // Drops what has expired from a live allocation and queues it again.
  void revisit(Allocation& a);
};

template <class F>
std::size_t AllocationTable::sweep(TimePoint now, F&& on_removed) {
  now_ = std::max(now_, now);
  std::size_t visited = 0;
  while (!due_.empty() && due_.begin()->first <= now) {
    auto it = by_flow_.find(due_.begin()->second);
    if (it == by_flow_.end()) {  // cannot be: every way out of the table unlists
      due_.erase(due_.begin());
      continue;
    }
    Allocation& a = it->second;
    ++visited;
    if (a.expires > now) {
      revisit(a);
      continue;
    }
    on_removed(a);
    unlist(a);
    for (const auto& r : a.relays) by_relay_.erase(r.id);
    forget_previous(a);
    by_flow_.erase(it);
  }
  if (!moved_away_.empty()) {
    std::erase_if(moved_away_, [&](const auto& m) { return m.second.until <= now; });
  }
  return visited;
}

}  // namespace tern::core
