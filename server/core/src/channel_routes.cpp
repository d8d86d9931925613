// relay.offload: which channel bindings of an allocation the kernel may relay on its own.
#include <algorithm>

#include "handlers.hpp"

namespace tern::core {

namespace {

// The permission's expiry for `peer`'s IP, or nothing when it has lapsed.
std::optional<TimePoint> permission_expiry(const Allocation& a,
                                           const protocol::TransportAddress& peer, TimePoint now) {
  std::optional<TimePoint> until;
  for (const Permission& p : a.permissions) {
    if (p.expires > now && p.ip.family == peer.family && p.ip.ip == peer.ip) {
      until = std::max(until.value_or(p.expires), p.expires);
    }
  }
  return until;
}

}  // namespace

void publish_routes(const Turn& t, const Allocation& a, TimePoint now) {
  if (!t.options.channel_routes || t.deps.events == nullptr) return;
  std::vector<ChannelRoute> routes;
  // Over UDP only (a stream's ChannelData is framed, DTLS is encrypted), and not for mobile
  // allocations, whose 5-tuple may change under a route.
  if (a.flow.transport == Transport::kUdp && !a.tcp && !a.mobile && !a.previous) {
    for (const ChannelBinding& b : a.channels) {
      // A number a reload no longer accepts (rfc5766_channels off) stays with user space, which
      // refuses it; so does a peer on one of tern's own addresses (another client's relay),
      // whose verdict changes when that relay closes.
      if (b.expires <= now || b.number > t.options.max_channel) continue;
      if (t.deps.relays != nullptr && t.deps.relays->is_own_ip(b.peer)) continue;
      const RelayEndpoint* relay = a.relay_for(b.peer.family);
      const auto permission = permission_expiry(a, b.peer, now);
      if (relay == nullptr || !permission || !channel_peer_allowed(t, b)) continue;
      routes.push_back(
          {b.number, relay->id, b.peer, std::min({b.expires, *permission, a.expires})});
    }
  }
  t.deps.events->routes(a.session_id, a.flow, routes);
}

}  // namespace tern::core
