// ConnectionBind (RFC 6062 §5.4): a new client connection takes over a peer data connection.
#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

Reply handle_connection_bind(Turn& t, const Request& req, const SessionKey& key) {
  const auto bad_request = [&] {
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  };
  // Only a fresh TCP or TLS connection can become a data connection; a control connection
  // (one with an allocation) cannot.
  if (!is_stream(req.flow.transport) || !t.deps.tcp || t.allocations.find(req.flow) != nullptr) {
    return bad_request();
  }
  const auto value = req.message.find_value(protocol::attr::kConnectionId);
  if (!value) return bad_request();
  const auto id = protocol::decode_connection_id(*value);
  if (!id) return bad_request();
  // Bound to the allocation's owner: another user's CONNECTION-ID is refused like an unknown one.
  if (!t.deps.tcp->bind(*id, key.owner(), req.now.steady)) return bad_request();
  if (!t.deps.relays->bind_connection(*id, req.flow)) {
    t.deps.tcp->remove(*id);
    return bad_request();
  }
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, t.buf);
  return finish_response(req, t.options, b, &key);
}

}  // namespace tern::core
