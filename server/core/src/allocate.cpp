// Allocate (RFC 8656 §7.2), in the RFC's check order; see reference A.2.2.
#include <algorithm>
#include <variant>

#include "handlers.hpp"
#include "tern/core/quota.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {
namespace {

namespace attr = protocol::attr;
using protocol::Family;
using protocol::MessageView;

struct Families {
  Family primary = Family::kIPv4;
  std::optional<Family> additional;
};

// Steps 5-9: which relayed address families, or the error code.
std::variant<Families, ErrorCode> choose_families(const Turn& t, const MessageView& m) {
  const auto requested = m.find_value(attr::kRequestedAddressFamily);
  const auto additional = m.find_value(attr::kAdditionalAddressFamily);
  const bool token = m.find(attr::kReservationToken).has_value();
  if (token && (m.find(attr::kEvenPort) || requested || additional)) return ErrorCode::kBadRequest;
  if (requested && additional) return ErrorCode::kBadRequest;
  Families f;
  if (requested) {
    auto family = protocol::decode_requested_address_family(*requested);
    if (!family) return ErrorCode::kBadRequest;
    f.primary = *family;
  }
  if (!t.deps.relays->family_available(f.primary)) return ErrorCode::kAddressFamilyNotSupported;
  if (additional) {
    auto family = protocol::decode_additional_address_family(*additional);
    if (!family || *family != Family::kIPv6) return ErrorCode::kBadRequest;
    if (auto even = m.find_value(attr::kEvenPort)) {
      auto reserve = protocol::decode_even_port(*even);
      if (!reserve || *reserve) return ErrorCode::kBadRequest;
    }
    f.additional = Family::kIPv6;
  }
  return f;
}

std::variant<std::vector<RelayEndpoint>, ErrorCode> open_relays(
    Turn& t, const MessageView& m, const Families& f, std::optional<ErrorCode>& address_error) {
  std::vector<RelayEndpoint> relays;
  if (auto token = m.find_value(attr::kReservationToken)) {
    auto value = protocol::decode_reservation_token(*token);
    if (!value) return ErrorCode::kBadRequest;
    std::uint64_t id = 0;
    for (auto b : *value) id = (id << 8) | b;
    auto r = t.deps.relays->open_reserved(id);
    if (!r) return ErrorCode::kInsufficientCapacity;
    relays.push_back(*r);
    return relays;
  }
  bool even = false;
  bool reserve = false;
  if (auto e = m.find_value(attr::kEvenPort)) {
    auto r = protocol::decode_even_port(*e);
    if (!r) return ErrorCode::kBadRequest;
    even = true;
    reserve = *r;
  }
  auto primary = t.deps.relays->open(f.primary, even, reserve);
  if (!primary) return ErrorCode::kInsufficientCapacity;
  relays.push_back(*primary);
  if (f.additional) {
    if (!t.deps.relays->family_available(*f.additional)) {
      address_error = ErrorCode::kAddressFamilyNotSupported;
    } else if (auto second = t.deps.relays->open(*f.additional, false, false)) {
      relays.push_back(*second);
    } else {
      address_error = ErrorCode::kInsufficientCapacity;
    }
  }
  return relays;
}

// RFC 6062 §5.1: a TCP allocation is made over TCP or TLS, and without DONT-FRAGMENT,
// EVEN-PORT or RESERVATION-TOKEN; tern makes it for one address family only.
bool tcp_allocation_allowed(const Request& req) {
  const MessageView& m = req.message;
  return is_stream(req.flow.transport) && !m.find(attr::kDontFragment) &&
         !m.find(attr::kEvenPort) && !m.find(attr::kReservationToken) &&
         !m.find(attr::kAdditionalAddressFamily);
}

std::variant<std::vector<RelayEndpoint>, ErrorCode> open_tcp_relay(Turn& t, Family family) {
  auto relay = t.deps.relays->open_tcp(family);
  if (!relay) return ErrorCode::kInsufficientCapacity;
  return std::vector<RelayEndpoint>{*relay};
}

Reply success(Turn& t, const Request& req, Allocation& a, std::optional<ErrorCode> address_error,
              std::chrono::seconds lifetime) {
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, t.buf);
  for (const auto& r : a.relays) b.add_xor_address(attr::kXorRelayedAddress, r.address);
  if (address_error) b.add_address_error_code(Family::kIPv6, *address_error);
  b.add_u32(attr::kLifetime, static_cast<std::uint32_t>(lifetime.count()));
  if (a.relays[0].reservation_token != 0) {
    std::array<std::uint8_t, 8> token{};
    for (int i = 0; i < 8; ++i) {
      token[static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(a.relays[0].reservation_token >> (56 - 8 * i));
    }
    b.add(attr::kReservationToken, token);
  }
  b.add_xor_address(attr::kXorMappedAddress, req.flow.client);
  if (a.mobile) b.add_string(attr::kMobilityTicket, next_ticket(t, a));
  return finish_response(req, t.options, b, &a.key);
}

}  // namespace

Reply handle_allocate(Turn& t, const Request& req, const SessionKey& key) {
  const MessageView& m = req.message;
  if (Allocation* existing = t.allocations.find(req.flow)) {
    if (existing->last.tid == m.transaction_id() && existing->last.method == m.method() &&
        !existing->last.bytes.empty()) {
      return existing->last.bytes;  // a retransmission of the Allocate that made it
    }
    return error_response(req, t.options, ErrorCode::kAllocationMismatch, t.buf, {}, &key);
  }
  if (t.draining) {  // RFC 8656 §7.2 step 11: send the client elsewhere, or refuse
    if (t.options.alternate_servers.empty()) {
      return error_response(req, t.options, ErrorCode::kInsufficientCapacity, t.buf, {}, &key);
    }
    auto b = start_response(req, protocol::MessageClass::kErrorResponse, t.buf);
    b.add_error_code(ErrorCode::kTryAlternate);
    b.add_address(attr::kAlternateServer, t.options.alternate_servers.front());
    return finish_response(req, t.options, b, &key);
  }
  const auto transport = m.find_value(attr::kRequestedTransport);
  if (!transport) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  auto protocol_number = protocol::decode_requested_transport(*transport);
  if (!protocol_number)
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  const bool tcp = *protocol_number == protocol::kProtocolTcp && t.options.tcp_relay && t.deps.tcp;
  if (*protocol_number != protocol::kProtocolUdp && !tcp) {
    return error_response(req, t.options, ErrorCode::kUnsupportedTransportProtocol, t.buf, {},
                          &key);
  }
  if (tcp && !tcp_allocation_allowed(req)) {
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  }
  if (auto refused = mobility_refused(t, req)) {
    return error_response(req, t.options, *refused, t.buf, {}, &key);
  }
  if (auto df = m.find_value(attr::kDontFragment); df && !protocol::decode_dont_fragment(*df)) {
    return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  }
  if (t.deps.relays == nullptr)
    return error_response(req, t.options, ErrorCode::kInsufficientCapacity, t.buf, {}, &key);
  auto families = choose_families(t, m);
  if (auto* code = std::get_if<ErrorCode>(&families)) {
    return error_response(req, t.options, *code, t.buf, {}, &key);
  }
  auto lifetime = granted_lifetime(t.options, m);
  if (!lifetime) return error_response(req, t.options, ErrorCode::kBadRequest, t.buf, {}, &key);
  lifetime = within_token(key, *lifetime, req.now.wall);
  if (t.deps.quota && !t.deps.quota->try_acquire(key.quota_user, req.flow.client)) {
    return error_response(req, t.options, ErrorCode::kAllocationQuotaReached, t.buf, {}, &key);
  }
  std::optional<ErrorCode> address_error;
  auto relays = tcp ? open_tcp_relay(t, std::get<Families>(families).primary)
                    : open_relays(t, m, std::get<Families>(families), address_error);
  if (auto* code = std::get_if<ErrorCode>(&relays)) {
    if (t.deps.quota) t.deps.quota->release(key.quota_user, req.flow.client);
    return error_response(req, t.options, *code, t.buf, {}, &key);
  }
  auto& opened = std::get<std::vector<RelayEndpoint>>(relays);
  if (m.find(attr::kDontFragment)) {
    bool ok = true;
    for (const auto& r : opened) ok = t.deps.relays->set_dont_fragment(r.id) && ok;
    if (!ok) {
      for (const auto& r : opened) t.deps.relays->close(r.id);
      if (t.deps.quota) t.deps.quota->release(key.quota_user, req.flow.client);
      const std::uint16_t df = attr::kDontFragment;
      return error_response(req, t.options, ErrorCode::kUnknownAttribute, t.buf, std::span(&df, 1),
                            &key);
    }
  }
  Allocation a;
  a.session_id = t.random();
  a.flow = req.flow;
  a.relays = std::move(opened);
  a.expires = req.now.steady + *lifetime;
  a.key = key;
  a.tcp = tcp;
  a.mobile = m.find(attr::kMobilityTicket).has_value();
  a.quota_source = req.flow.client;
  claim_flow(t, req.flow, req.now.steady);
  Allocation& stored = t.allocations.insert(std::move(a));
  const std::size_t family = stored.relays[0].address.family == Family::kIPv4 ? 0 : 1;
  t.stats.allocations_active[static_cast<std::size_t>(req.flow.transport)][family].add(1);
  report(t, AllocationEvent::kCreated, stored, *lifetime);
  const Reply reply = success(t, req, stored, address_error, *lifetime);
  stored.last.set(m.method(), m.transaction_id(), reply, req.now.steady);
  t.allocations.touch(stored, req.now.steady);  // the answer's release is a deadline too
  return reply;
}

std::optional<std::chrono::seconds> granted_lifetime(const ServerOptions& options,
                                                     const MessageView& m) {
  auto value = m.find_value(attr::kLifetime);
  // Without LIFETIME the default applies, but never beyond the configured maximum.
  if (!value) return std::min(options.default_lifetime, options.max_lifetime);
  auto requested = protocol::decode_lifetime(*value);
  if (!requested) return std::nullopt;
  const auto asked = std::chrono::seconds(*requested);
  return std::max(std::min(asked, options.max_lifetime),
                  std::min(options.default_lifetime, options.max_lifetime));
}

}  // namespace tern::core
