// The core's entry point: demultiplex, validate, authenticate and dispatch, one handler per method.
#include "tern/core/server.hpp"

#include <random>

#include "handlers.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/auth/nonce.hpp"
#include "tern/core/rate_limit.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/demux.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::core {

using protocol::MessageClass;
using protocol::MessageView;
using protocol::Method;

namespace {

constexpr std::size_t kScratchSize = 65536 + 128;  // the largest ChannelData or Data indication
constexpr auto kNonceLifetime = std::chrono::minutes(10);

// RFC 8489 §9.2.1 security features of the nonces: username anonymity only when every
// credential can be found by its USERHASH (not with TURN REST secrets).
std::uint32_t security_features(const ServerDeps& deps) {
  const bool anonymity = deps.credentials && deps.credentials->resolves_every_userhash();
  return auth::kFeaturePasswordAlgorithms | (anonymity ? auth::kFeatureUsernameAnonymity : 0u);
}

// Re-issues `deps.nonces` with the features its credentials allow; same secret, so nonces
// already handed out stay valid.
void advertise_features(ServerDeps& deps) {
  const std::uint32_t features = security_features(deps);
  if (deps.nonces->security_features() != features) {
    deps.nonces = std::make_shared<const auth::NonceIssuer>(deps.nonces->with_features(features));
  }
}

StatMethod stat_method_of(Method m) {
  switch (m) {
    case Method::kBinding:
      return StatMethod::kBinding;
    case Method::kAllocate:
      return StatMethod::kAllocate;
    case Method::kRefresh:
      return StatMethod::kRefresh;
    case Method::kCreatePermission:
      return StatMethod::kCreatePermission;
    case Method::kChannelBind:
      return StatMethod::kChannelBind;
    default:
      return StatMethod::kOther;
  }
}

// 200 for a success response, else its ERROR-CODE (our own reply, so it parses).
std::uint16_t reply_code(std::span<const std::uint8_t> reply) {
  auto m = MessageView::parse(reply, {.allow_classic = true});
  if (!m || m->message_class() == MessageClass::kSuccessResponse) return 200;
  auto v = m->find_value(protocol::attr::kErrorCode);
  if (!v) return protocol::code_number(ErrorCode::kServerError);
  auto e = protocol::decode_error_code(*v);
  return e ? e->code : protocol::code_number(ErrorCode::kServerError);
}

// The client address of the control connection whose connection a ConnectionBind names.
std::optional<protocol::TransportAddress> control_client_of(const ServerDeps& deps,
                                                            const MessageView& m) {
  const auto value = m.find_value(protocol::attr::kConnectionId);
  if (!deps.tcp || !value) return std::nullopt;
  const auto id = protocol::decode_connection_id(*value);
  if (!id) return std::nullopt;
  return deps.tcp->control_client(*id);
}

// Requests after which an allocation's channel routes may differ (relay.offload).
bool changes_routes(Method m) {
  return m == Method::kRefresh || m == Method::kCreatePermission || m == Method::kChannelBind;
}

bool is_turn_request(Method m) {
  return m == Method::kAllocate || m == Method::kRefresh || m == Method::kCreatePermission ||
         m == Method::kChannelBind || m == Method::kConnect || m == Method::kConnectionBind;
}

}  // namespace

std::shared_ptr<const auth::NonceIssuer> make_nonce_issuer(std::uint32_t features) {
  std::random_device device;  // getrandom(2) on Linux
  std::array<std::uint8_t, 32> secret{};
  for (auto& b : secret) b = static_cast<std::uint8_t>(device());
  return std::make_shared<auth::NonceIssuer>(secret, kNonceLifetime, features);
}

const char* to_string(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp:
      return "udp";
    case Transport::kTcp:
      return "tcp";
    case Transport::kTls:
      return "tls";
    case Transport::kDtls:
      return "dtls";
  }
  return "?";
}

Server::Server(ServerOptions options, ServerDeps deps)
    : options_(std::move(options)),
      deps_(std::move(deps)),
      allocations_(std::make_unique<AllocationTable>()),
      scratch_(kScratchSize) {
  if (!deps_.nonces) deps_.nonces = make_nonce_issuer(security_features(deps_));
  advertise_features(deps_);  // a nonce issuer passed in may not match the credentials
  if (!deps_.reply_limit) {
    deps_.reply_limit = std::make_shared<ReplyRateLimit>(
        options_.unauthenticated_replies_per_second, options_.unauthenticated_reply_burst);
  }
  deps_.reply_limit->set_limits(options_.unauthenticated_replies_per_second,
                                options_.unauthenticated_reply_burst);
  rng_state_ = std::random_device{}();
}

Server::~Server() = default;

Turn Server::turn() {
  return Turn{options_,      deps_,      *allocations_,        *deps_.reply_limit,
              stats_,        scratch_,   rng_state_,           draining_,
              policy_epoch_, may_fetch_, fetched_wrong_owner_, fetching_};
}

void Server::handle(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now,
                    Outbox& out) {
  if (bytes.empty()) return;
  const auto kind = protocol::classify_first_byte(bytes[0]);
  if (kind == protocol::PacketKind::kStun) return handle_stun(flow, bytes, now, out);
  if (kind == protocol::PacketKind::kChannelData ||
      (bytes[0] >= 0x40 && bytes[0] <= (options_.max_channel >> 8))) {
    return handle_channel_data(flow, bytes, now, out);
  }
  stats_.drop(Drop::kMalformed);
}

// The allocation data from `flow` is for: its own, or one that moved away from `flow` and still
// serves it (RFC 8016 §3.2.2), which data from the new 5-tuple ends.
Allocation* Server::data_allocation(const FiveTuple& flow) {
  if (Allocation* a = allocations_->find(flow)) {
    if (a->previous) allocations_->settle(*a);
    return a;
  }
  return allocations_->find_previous(flow);
}

void Server::handle_channel_data(const FiveTuple& flow, std::span<const std::uint8_t> bytes,
                                 Instant now, Outbox& out) {
  auto cd = protocol::parse_channel_data(bytes, options_.max_channel);
  Allocation* a = cd ? data_allocation(flow) : nullptr;
  if (a == nullptr || a->tcp) {
    if (a == nullptr && cd && forward_moved(flow, bytes, now.steady)) return;
    stats_.drop(Drop::kMalformed);
    return;
  }
  Turn t = turn();
  relay_channel_data(t, *a, cd->channel, cd->payload, now.steady, out);
}

void Server::handle_stun(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now,
                         Outbox& out) {
  latest_ = now;
  // Over DTLS a cookie-less request is parsed to be answered 500 (below), whatever rfc3489 says.
  auto parsed = MessageView::parse(
      bytes, {.allow_classic = options_.rfc3489 || flow.transport == Transport::kDtls});
  if (!parsed) {
    stats_.drop(Drop::kMalformed);
    return;
  }
  const MessageView& m = *parsed;
  const auto fp = protocol::check_fingerprint(m);
  if (fp == protocol::Check::kInvalid) {
    stats_.drop(Drop::kMalformed);
    return;
  }
  const Request req{flow, m, now, fp == protocol::Check::kValid};
  const auto method = static_cast<Method>(m.method());
  if (m.message_class() == MessageClass::kIndication) {
    if (method != Method::kSend || m.is_classic()) return;
    Allocation* a = data_allocation(flow);
    if (a == nullptr) {
      forward_moved(flow, bytes, now.steady);
    } else if (!a->tcp) {
      Turn t = turn();
      handle_send_indication(t, req, *a, out);
    }
    return;
  }
  // Responses sent to a server are dropped.
  if (m.message_class() != MessageClass::kRequest) return;
  FiveTuple reply_to = flow;
  Reply reply;
  if (m.is_classic()) {
    if (flow.transport == Transport::kDtls) {
      reply = classic_server_error(req, scratch_);  // RFC 8489 §11: no RFC 3489 over DTLS
    } else if (method == Method::kBinding &&
               (flow.transport == Transport::kUdp || flow.transport == Transport::kTcp)) {
      reply = handle_classic_binding(req, scratch_);
    }
  } else if (method == Method::kBinding) {
    reply = binding(req, reply_to);
    stats_.request(StatMethod::kBinding, reply_code(reply));
  } else if (is_turn_request(method)) {
    const auto started = Clock::now();
    reply = turn_request(req, method);
    const auto stat_method = stat_method_of(method);
    stats_.durations[static_cast<std::size_t>(stat_method)].observe(Clock::now() - started);
    if (!reply.empty()) {
      const std::uint16_t code = reply_code(reply);
      stats_.request(stat_method, code);
      if (method == Method::kAllocate) stats_.allocation_attempts[stat_code_index(code)].add();
    }
    if (changes_routes(method)) {
      if (Allocation* a = allocations_->find(flow)) {
        allocations_->touch(*a, now.steady);  // new deadlines for the sweep
        if (options_.channel_routes) publish_routes(turn(), *a, now.steady);
      }
    }
  } else {
    reply = error_response(req, options_, ErrorCode::kBadRequest, scratch_);
    stats_.request(StatMethod::kOther, protocol::code_number(ErrorCode::kBadRequest));
  }
  if (!reply.empty()) out.to_client(reply_to, reply);
}

Reply Server::binding(const Request& req, FiveTuple& reply_to) {
  std::array<std::uint16_t, 16> unknown{};
  stats_.binding_requests[static_cast<std::size_t>(req.flow.transport)].add();
  // RFC 5780 only on the four UDP addresses that have an alternate: elsewhere its attributes
  // are unknown (420), as when it is off (§6: no CHANGE-REQUEST without a second address).
  const bool discovery = options_.nat_discovery && req.flow.transport == Transport::kUdp &&
                         nat_discovery_address(*options_.nat_discovery, req.flow.server);
  if (const std::size_t n = unknown_required_attributes(req.message, unknown, discovery); n > 0) {
    return error_response(req, options_, ErrorCode::kUnknownAttribute, scratch_,
                          std::span(unknown).first(n));
  }
  if (discovery) return handle_nat_discovery_binding(req, options_, scratch_, reply_to);
  return handle_binding(req, options_, scratch_);
}

Reply Server::turn_request(const Request& req, Method method) {
  Allocation* existing = allocations_->find(req.flow);
  if (existing != nullptr && existing->last.tid == req.message.transaction_id() &&
      existing->last.method == req.message.method() && !existing->last.bytes.empty()) {
    return existing->last.bytes;  // a retransmission gets the same answer
  }
  Turn t = turn();
  const auto control =
      method == Method::kConnectionBind ? control_client_of(deps_, req.message) : std::nullopt;
  AuthOutcome auth = authenticate(t, req, existing, control ? &*control : nullptr);
  if (!auth.key) return auth.reply;
  const SessionKey& key = *auth.key;
  // A signed request from the 5-tuple a client moved to ends the old one's part too (a client
  // that only receives still refreshes from its new address).
  if (existing != nullptr && existing->previous) allocations_->settle(*existing);
  std::array<std::uint16_t, 16> unknown{};
  if (const std::size_t n = unknown_required_attributes(req.message, unknown, false); n > 0) {
    return error_response(req, options_, ErrorCode::kUnknownAttribute, scratch_,
                          std::span(unknown).first(n), &key);
  }
  if (method == Method::kAllocate) return handle_allocate(t, req, key);
  if (method == Method::kConnectionBind) return handle_connection_bind(t, req, key);
  if (existing == nullptr && method == Method::kRefresh &&
      req.message.find(protocol::attr::kMobilityTicket)) {
    return mobility_refresh(t, req, key);  // RFC 8016: a client on a new address
  }
  if (existing == nullptr)
    return error_response(req, options_, ErrorCode::kAllocationMismatch, scratch_, {}, &key);
  if (existing->key.username != key.username && !(existing->key.token && key.token)) {
    return error_response(req, options_, ErrorCode::kWrongCredentials, scratch_, {}, &key);
  }
  Reply reply;
  if (method == Method::kRefresh) {
    return handle_refresh(t, req, key, *existing);  // may delete `existing`
  } else if (method == Method::kCreatePermission) {
    reply = handle_create_permission(t, req, key, *existing);
  } else if (method == Method::kConnect) {
    reply = handle_connect(t, req, key, *existing);
    if (reply.empty()) return reply;  // answered once the connection is up or has failed
  } else {
    reply = handle_channel_bind(t, req, key, *existing);
  }
  existing->last.set(req.message.method(), req.message.transaction_id(), reply, req.now.steady);
  return reply;
}

void Server::handle_peer(RelayId relay, const protocol::TransportAddress& peer,
                         std::span<const std::uint8_t> bytes, Instant now, Outbox& out) {
  Allocation* a = allocations_->by_relay(relay);
  if (a == nullptr) return;
  for (const auto& endpoint : a->relays) {
    if (endpoint.id != relay) continue;
    Turn t = turn();
    relay_from_peer(t, *a, endpoint, peer, bytes, now.steady, out);
    return;
  }
}

void Server::handle_peer_icmp(RelayId relay, const protocol::TransportAddress& peer,
                              std::uint8_t type, std::uint8_t code, std::uint32_t error_data,
                              Instant now, Outbox& out) {
  Allocation* a = allocations_->by_relay(relay);
  if (a == nullptr) return;
  Turn t = turn();
  report_icmp(t, *a, peer, {type, code, error_data}, now.steady, out);
}

void Server::connection_closed(const FiveTuple& flow) {
  // A DTLS session that an allocation moved away from closes: data goes to the new one now.
  if (Allocation* a = allocations_->find_previous(flow)) allocations_->settle(*a);
  end_allocations({flow});
}

bool Server::tcp_connected(ConnectionId id, bool ok, Instant now, Outbox& out) {
  const auto taken = allocations_->take_connect(id);
  if (!taken) {
    if (deps_.tcp) deps_.tcp->remove(id);
    return false;
  }
  Turn t = turn();
  const Reply reply = connect_outcome(t, *taken->allocation, taken->connect, ok, now.steady);
  const std::uint16_t code = reply_code(reply);
  stats_.request(StatMethod::kOther, code);
  if (!reply.empty()) out.to_client(taken->allocation->flow, reply);
  return code == 200;
}

ConnectionId Server::tcp_peer_connected(RelayId relay, const protocol::TransportAddress& peer,
                                        Instant now, Outbox& out) {
  Allocation* a = allocations_->by_relay(relay);
  if (a == nullptr || !a->tcp || !deps_.tcp) return 0;
  Turn t = turn();
  return connection_attempt(t, *a, peer, now.steady, out);
}

void Server::tcp_data_closed(ConnectionId id) {
  if (deps_.tcp) deps_.tcp->remove(id);
}

std::size_t Server::sweep(Instant now) {
  latest_ = now;
  Turn t = turn();
  const std::size_t visited = allocations_->sweep(now.steady, [&](Allocation& a) {
    report(t, AllocationEvent::kExpired, a);
    release_allocation(t, a);
  });
  if (deps_.tcp && deps_.relays != nullptr) {  // peer connections never bound in time
    for (const ConnectionId id : deps_.tcp->expire(now.steady)) deps_.relays->close_connection(id);
  }
  stats_.permissions_active.set(static_cast<std::int64_t>(allocations_->live_permissions()));
  stats_.channels_active.set(static_cast<std::int64_t>(allocations_->live_channels()));
  return visited;
}

void Server::republish_routes(Instant now) {
  if (!options_.channel_routes) return;
  const Turn t = turn();
  allocations_->for_each([&](const Allocation& a) { publish_routes(t, a, now.steady); });
}

void Server::count_offloaded(const OffloadedTraffic& t) noexcept {
  stats_.client_received.packets.add(t.to_peer_packets);
  stats_.client_received.bytes.add(t.to_peer_bytes);
  stats_.peer_sent.packets.add(t.to_peer_packets);
  stats_.peer_sent.bytes.add(t.to_peer_bytes);
  stats_.peer_received.packets.add(t.to_client_packets);
  stats_.peer_received.bytes.add(t.to_client_bytes);
  stats_.client_sent.packets.add(t.to_client_packets);
  stats_.client_sent.bytes.add(t.to_client_bytes);
}

std::size_t Server::allocation_count() const noexcept {
  return allocations_->size();
}

bool Server::has_allocation(const FiveTuple& flow) const noexcept {
  return allocations_->find(flow) != nullptr;
}

std::size_t Server::reconfigure(ServerOptions options, ServerDeps deps) {
  deps.relays = deps_.relays;  // the worker's own sockets stay
  deps.tcp = deps_.tcp;        // and the RFC 6062 connections of all workers
  deps.mover = deps_.mover;
  if (!deps.tickets) deps.tickets = deps_.tickets;  // tickets handed out stay good
  options.worker = options_.worker;
  options.channel_routes = options_.channel_routes;  // decided at start
  if (!deps.events) deps.events = deps_.events;
  if (!deps.nonces) deps.nonces = deps_.nonces;  // outstanding nonces stay valid
  advertise_features(deps);
  if (!deps.reply_limit) deps.reply_limit = deps_.reply_limit;
  deps.reply_limit->set_limits(options.unauthenticated_replies_per_second,
                               options.unauthenticated_reply_burst);
  options_ = std::move(options);
  deps_ = std::move(deps);
  ++policy_epoch_;            // cached peer verdicts are checked again
  republish_routes(latest_);  // a peer the new policy denies loses its routes at once
  // A removed static user loses its allocations; a changed password or a rotated REST secret
  // does not (the allocation keeps the key it was made with).
  std::vector<FiveTuple> gone;
  allocations_->for_each([&](const Allocation& a) {
    if (a.key.expires || !deps_.credentials) return;
    if (!deps_.credentials->lookup(a.key.username, {})) gone.push_back(a.flow);
  });
  return end_allocations(gone);
}

std::size_t Server::end_allocations(const std::vector<FiveTuple>& flows) {
  Turn t = turn();
  std::size_t ended = 0;
  for (const auto& flow : flows) {
    if (Allocation* a = allocations_->find(flow)) {
      report(t, AllocationEvent::kClosed, *a);
      release_allocation(t, *a);
      allocations_->erase(flow);
      ++ended;
    }
  }
  return ended;
}

std::vector<SessionInfo> Server::sessions(Instant now) const {
  std::vector<SessionInfo> out;
  allocations_->for_each([&](const Allocation& a) {
    SessionInfo s;
    s.id = a.session_id;
    s.flow = a.flow;
    s.username = a.key.username;
    for (const auto& r : a.relays) s.relayed.push_back(r.address);
    s.expires_in = std::chrono::duration_cast<std::chrono::seconds>(a.expires - now.steady);
    s.permissions = a.permissions.size();
    s.channels = a.channels.size();
    out.push_back(std::move(s));
  });
  return out;
}

std::size_t Server::kill_sessions(const std::string& username, std::uint64_t id) {
  std::vector<FiveTuple> gone;
  allocations_->for_each([&](const Allocation& a) {
    if ((username.empty() || a.key.username == username) && (id == 0 || a.session_id == id)) {
      gone.push_back(a.flow);
    }
  });
  return end_allocations(gone);
}

}  // namespace tern::core
