// CreatePermission (RFC 8656 §10): install or refresh permissions for one or more peer IPs.
#include <algorithm>

#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

Reply handle_create_permission(Turn& t, const Request& req, const SessionKey& key, Allocation& a) {
  namespace attr = protocol::attr;
  const auto& m = req.message;
  std::array<protocol::TransportAddress, protocol::MessageView::kMaxAttributes> peers;
  std::size_t count = 0;
  // Every XOR-PEER-ADDRESS is checked before any permission changes (all or nothing).
  for (const auto& attribute : m.attributes()) {
    if (attribute.type != attr::kXorPeerAddress) continue;
    auto peer = protocol::decode_xor_address(m.value(attribute), m.transaction_id());
    if (!peer) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
    if (a.relay_for(peer->family) == nullptr) {
      return error_response(req, t.options, ErrorCode::kPeerAddressFamilyMismatch, t.buf, {}, &key);
    }
    if (!peer_allowed(t, *peer, PeerPort::kAny)) {
      t.stats.drop(Drop::kDeniedPeer);
      return error_response(req, t.options, ErrorCode::kForbidden, t.buf, {}, &key);
    }
    peers[count++] = *peer;
  }
  if (count == 0) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  const TimePoint now = req.now.steady;
  std::size_t added = 0;
  for (std::size_t i = 0; i < count; ++i) {
    bool repeated = false;
    for (std::size_t j = 0; j < i; ++j)
      repeated = repeated || (peers[j].family == peers[i].family && peers[j].ip == peers[i].ip);
    if (!repeated && !a.has_permission(peers[i], now)) ++added;
  }
  std::erase_if(a.permissions, [&](const Permission& p) { return p.expires <= now; });
  if (a.permissions.size() + added > t.options.permissions_per_allocation) {
    return error_response(req, t.options, ErrorCode::kInsufficientCapacity, t.buf, {}, &key);
  }
  for (std::size_t i = 0; i < count; ++i) {
    a.grant_permission(peers[i], now + t.options.permission_lifetime);
  }
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, t.buf);
  return finish_response(req, t.options, b, &key);
}

}  // namespace tern::core
