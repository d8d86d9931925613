// ConnectionAttempt (RFC 6062 §5.3): a peer connected to a TCP relayed address.
#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

ConnectionId connection_attempt(Turn& t, Allocation& a, const protocol::TransportAddress& peer,
                                TimePoint now, Outbox& out) {
  if (!a.has_permission(peer, now)) {  // closed at once (§5.3)
    t.stats.drop(Drop::kNoPermission);
    return 0;
  }
  const auto reserved =
      t.deps.tcp->reserve({a.session_id, a.key.owner(), a.flow.client}, peer, false,
                          now + kConnectionBindWindow, t.options.tcp_connections);
  if (reserved.id == 0) {
    t.stats.drop(Drop::kQuota);
    return 0;
  }
  const auto type = protocol::message_type(protocol::Method::kConnectionAttempt,
                                           protocol::MessageClass::kIndication);
  protocol::MessageBuilder b(t.buf, type, t.random_tid());
  b.add_xor_address(protocol::attr::kXorPeerAddress, peer);
  b.add_u32(protocol::attr::kConnectionId, reserved.id);
  const Reply indication = finish_message(t.options, b, nullptr, false);
  if (indication.empty()) {
    t.deps.tcp->remove(reserved.id);
    return 0;
  }
  out.to_client(a.flow, indication);
  return reserved.id;
}

}  // namespace tern::core
