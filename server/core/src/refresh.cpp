// Refresh (RFC 8656 §8): extend or (LIFETIME 0) delete the client's allocation.
#include "handlers.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

namespace {

// RFC 8656 §8: deleting one family of a dual allocation leaves the other family, its
// permissions and its channels alone.
void delete_family(Turn& t, Allocation& a, protocol::Family family) {
  const auto gauge_family = [&] {
    return a.relays[0].address.family == protocol::Family::kIPv4 ? 0u : 1u;
  };
  auto& active = t.stats.allocations_active[static_cast<std::size_t>(a.flow.transport)];
  active[gauge_family()].add(-1);
  const RelayEndpoint* relay = a.relay_for(family);
  t.allocations.unindex_relay(relay->id);
  if (t.deps.relays != nullptr) t.deps.relays->close(relay->id);
  std::erase_if(a.relays, [&](const RelayEndpoint& r) { return r.address.family == family; });
  std::erase_if(a.permissions, [&](const Permission& p) { return p.ip.family == family; });
  std::erase_if(a.channels, [&](const ChannelBinding& c) { return c.peer.family == family; });
  active[gauge_family()].add(1);
}

}  // namespace

Reply handle_refresh(Turn& t, const Request& req, const SessionKey& key, Allocation& a,
                     bool moved) {
  namespace attr = protocol::attr;
  const auto& m = req.message;
  // RFC 8016 §3.2.2: a ticket comes only with a new address (mobility_refresh moved `a`).
  if (m.find(attr::kMobilityTicket) && !moved) {
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  }
  std::optional<protocol::Family> only;
  if (auto family_value = m.find_value(attr::kRequestedAddressFamily)) {
    auto family = protocol::decode_requested_address_family(*family_value);
    if (!family) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
    if (a.relay_for(*family) == nullptr)
      return error_response(req, t.options, ErrorCode::kPeerAddressFamilyMismatch, t.buf, {}, &key);
    only = *family;
  }
  std::chrono::seconds lifetime{0};
  const auto value = m.find_value(attr::kLifetime);
  auto requested = value ? protocol::decode_lifetime(*value) : std::uint32_t{1};
  if (!requested) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  if (*requested != 0) {
    auto granted = granted_lifetime(t.options, m);
    if (!granted) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
    lifetime = within_token(key, *granted, req.now.wall);
  }
  if (key.token) a.key = key;  // a new token's key signs this answer and what follows
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, t.buf);
  b.add_u32(attr::kLifetime, static_cast<std::uint32_t>(lifetime.count()));
  const SessionKey session_key = a.key;  // `a` is gone after a delete
  if (lifetime.count() == 0 && only && a.relays.size() > 1) {
    delete_family(t, a, *only);
    return finish_response(req, t.options, b, &session_key);
  }
  if (lifetime.count() == 0) {
    report(t, AllocationEvent::kDeleted, a);
    release_allocation(t, a);
    t.allocations.erase(req.flow);
    return finish_response(req, t.options, b, &session_key);
  }
  a.expires = req.now.steady + lifetime;
  // RFC 8016 §3.2.3: a Refresh that moved the allocation gets a new ticket.
  if (a.mobile && m.find(attr::kMobilityTicket))
    b.add_string(attr::kMobilityTicket, next_ticket(t, a));
  report(t, AllocationEvent::kRefreshed, a, lifetime);
  const Reply reply = finish_response(req, t.options, b, &session_key);
  a.last.set(m.method(), m.transaction_id(), reply, req.now.steady);
  return reply;
}

}  // namespace tern::core
