// ChannelBind (RFC 8656 §11.2): bind a channel number to a peer, and refresh its permission.
#include <algorithm>

#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

Reply handle_channel_bind(Turn& t, const Request& req, const SessionKey& key, Allocation& a) {
  namespace attr = protocol::attr;
  const auto& m = req.message;
  const auto number_value = m.find_value(attr::kChannelNumber);
  const auto peer_value = m.find_value(attr::kXorPeerAddress);
  // A TCP allocation relays over data connections, never over channels (RFC 6062 §4).
  if (!number_value || !peer_value || a.tcp)
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  auto number = protocol::decode_channel_number(*number_value);
  auto peer = protocol::decode_xor_address(*peer_value, m.transaction_id());
  if (!number || !peer || *number < protocol::kMinChannel || *number > t.options.max_channel) {
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  }
  const TimePoint now = req.now.steady;
  ChannelBinding* same = nullptr;
  for (auto& c : a.channels) {
    const bool held = c.expires + ChannelBinding::kQuarantine > now;
    const bool live = c.expires > now;
    if (c.number == *number && c.peer == *peer) {
      same = &c;
    } else if ((c.number == *number && held) || (c.peer == *peer && live)) {
      return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
    }
  }
  if (a.relay_for(peer->family) == nullptr) {
    return error_response(req, t.options, ErrorCode::kPeerAddressFamilyMismatch, t.buf, {}, &key);
  }
  if (!peer_allowed(t, *peer)) {
    t.stats.drop(Drop::kDeniedPeer);
    return error_response(req, t.options, ErrorCode::kForbidden, t.buf, {}, &key);
  }
  if (same == nullptr) {
    std::erase_if(a.channels, [&](const ChannelBinding& c) {
      return c.expires + ChannelBinding::kQuarantine <= now;
    });
    if (a.channels.size() >= t.options.channels_per_allocation) {
      return error_response(req, t.options, ErrorCode::kInsufficientCapacity, t.buf, {}, &key);
    }
    a.channels.push_back({*number, *peer, now + t.options.channel_lifetime});
  } else {
    same->expires = now + t.options.channel_lifetime;
  }
  a.grant_permission(*peer, now + t.options.permission_lifetime);
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, t.buf);
  return finish_response(req, t.options, b, &key);
}

}  // namespace tern::core
