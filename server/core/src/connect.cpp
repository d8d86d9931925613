// Connect (RFC 6062 §5.2): tern opens a TCP connection from the relayed address to a peer.
#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

namespace attr = protocol::attr;

Reply handle_connect(Turn& t, const Request& req, const SessionKey& key, Allocation& a) {
  const auto error = [&](ErrorCode code) {
    return error_response(req, t.options, code, t.buf, {}, &key);
  };
  if (!a.tcp || !t.deps.tcp) return error(ErrorCode::kBadRequest);  // a UDP allocation
  const auto& m = req.message;
  const auto value = m.find_value(attr::kXorPeerAddress);
  if (!value) return error(ErrorCode::kBadRequest);
  auto peer = protocol::decode_xor_address(*value, m.transaction_id());
  if (!peer) return error(ErrorCode::kBadRequest);
  const RelayEndpoint* relay = a.relay_for(peer->family);
  if (relay == nullptr) return error(ErrorCode::kPeerAddressFamilyMismatch);
  // Checked before anything leaves the host: no SYN ever goes to a denied peer.
  if (!peer_allowed(t, *peer)) {
    t.stats.drop(Drop::kDeniedPeer);
    return error(ErrorCode::kForbidden);
  }
  const auto reserved = t.deps.tcp->reserve({a.session_id, a.key.owner(), a.flow.client}, *peer,
                                            true, {}, t.options.tcp_connections);
  if (reserved.refusal == TcpConnectionTable::Refusal::kExists) {
    return error(ErrorCode::kConnectionAlreadyExists);
  }
  if (reserved.id == 0) return error(ErrorCode::kInsufficientCapacity);
  a.connects.push_back({reserved.id, m.transaction_id(), req.fingerprint});
  t.allocations.index_connect(reserved.id, a.flow);
  t.deps.relays->connect(relay->id, reserved.id, *peer);
  return {};  // answered by connect_outcome
}

Reply connect_outcome(Turn& t, Allocation& a, const Allocation::PendingConnect& connect, bool ok,
                      TimePoint now) {
  ok = ok && t.deps.tcp && t.deps.tcp->established(connect.id, now + kConnectionBindWindow);
  if (!ok && t.deps.tcp) t.deps.tcp->remove(connect.id);
  const auto cls =
      ok ? protocol::MessageClass::kSuccessResponse : protocol::MessageClass::kErrorResponse;
  protocol::MessageBuilder b(t.buf, protocol::message_type(protocol::Method::kConnect, cls),
                             connect.tid);
  if (ok) {
    b.add_u32(attr::kConnectionId, connect.id);
  } else {
    b.add_error_code(ErrorCode::kConnectionTimeoutOrFailure);
  }
  return finish_message(t.options, b, &a.key, connect.fingerprint);
}

}  // namespace tern::core
