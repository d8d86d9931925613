// The data path (RFC 8656 §11-12): Send/Data indications and ChannelData in both directions.
#include "handlers.hpp"
#include "tern/core/peer_policy.hpp"
#include "tern/core/quota.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/channel_data.hpp"

namespace tern::core {

namespace attr = protocol::attr;

bool peer_allowed(const Turn& t, const protocol::TransportAddress& peer, PeerPort port) {
  static const PeerPolicy kSecureDefault;
  const PeerPolicy& policy = t.deps.peers ? *t.deps.peers : kSecureDefault;
  const bool any_port = port == PeerPort::kAny;
  // Two clients of one tern reach each other through their relayed addresses, whatever the
  // deny list says. Other ports of tern's own addresses (other services on the host) only
  // through an allow entry that names them, and tern's own ports never (reference C.0).
  if (t.deps.relays != nullptr) {
    if (t.deps.relays->is_live_relay(peer)) return true;
    if (t.deps.relays->is_own_ip(peer)) {
      if (!any_port && t.deps.relays->is_own_port(peer)) return false;
      return policy.opens_port_of_own_host(peer, any_port);
    }
  }
  return any_port ? policy.allowed_some_port(peer) : policy.allowed(peer);
}

void report(const Turn& t, AllocationEvent event, const Allocation& a,
            std::chrono::seconds lifetime, const FiveTuple* previous) {
  if (t.deps.events == nullptr) return;
  t.deps.events->allocation(
      event, {a.session_id, &a.flow, a.key.username, a.relays, lifetime, a.expires, previous});
}

void release_allocation(Turn& t, Allocation& a) {
  if (!a.relays.empty()) {
    const std::size_t family = a.relays[0].address.family == protocol::Family::kIPv4 ? 0 : 1;
    t.stats.allocations_active[static_cast<std::size_t>(a.flow.transport)][family].add(-1);
  }
  if (t.deps.relays != nullptr) {
    for (const auto& r : a.relays) t.deps.relays->close(r.id);
  }
  if (t.deps.quota) t.deps.quota->release(a.key.quota_user, a.quota_source);
  if (a.tcp && t.deps.tcp && t.deps.relays != nullptr) {  // RFC 6062 §5.5
    for (const ConnectionId id : t.deps.tcp->end_session(a.session_id)) {
      t.deps.relays->close_connection(id);
    }
  }
}

void handle_send_indication(Turn& t, const Request& req, Allocation& a, Outbox& out) {
  const auto& m = req.message;
  const auto peer_value = m.find_value(attr::kXorPeerAddress);
  const auto data_value = m.find_value(attr::kData);
  if (!peer_value || !data_value) {  // RFC 8656 §11.2: discard
    t.stats.drop(Drop::kMalformed);
    return;
  }
  t.stats.client_received.count(data_value->size());
  auto peer = protocol::decode_xor_address(*peer_value, m.transaction_id());
  const RelayEndpoint* relay = peer ? a.relay_for(peer->family) : nullptr;
  if (relay == nullptr) {
    t.stats.drop(Drop::kMalformed);
    return;
  }
  if (!a.has_permission(*peer, req.now.steady)) {
    t.stats.drop(Drop::kNoPermission);
    return;
  }
  if (!peer_allowed(t, *peer)) {
    t.stats.drop(Drop::kDeniedPeer);
    return;
  }
  t.stats.peer_sent.count(data_value->size());
  out.to_peer(relay->id, *peer, *data_value);
}

bool channel_peer_allowed(const Turn& t, const ChannelBinding& binding) {
  const std::uint64_t relays = t.deps.relays != nullptr ? t.deps.relays->generation() : 0;
  if (binding.checked_epoch != t.policy_epoch || binding.checked_relays != relays) {
    binding.allowed = peer_allowed(t, binding.peer);
    binding.checked_epoch = t.policy_epoch;
    binding.checked_relays = relays;
  }
  return binding.allowed;
}

void relay_channel_data(Turn& t, Allocation& a, std::uint16_t channel,
                        std::span<const std::uint8_t> payload, TimePoint now, Outbox& out) {
  t.stats.client_received.count(payload.size());
  const ChannelBinding* binding = a.channel_by_number(channel, now);
  const RelayEndpoint* relay = binding ? a.relay_for(binding->peer.family) : nullptr;
  if (relay == nullptr) {  // RFC 8656 §12.6: unbound channel, discard
    t.stats.drop(Drop::kNoPermission);
    return;
  }
  if (!a.has_permission(binding->peer, now)) {
    t.stats.drop(Drop::kNoPermission);
    return;
  }
  if (!channel_peer_allowed(t, *binding)) {
    t.stats.drop(Drop::kDeniedPeer);
    return;
  }
  t.stats.peer_sent.count(payload.size());
  out.to_peer(relay->id, binding->peer, payload);
}

namespace {
constexpr std::uint16_t kDataIndication =
    protocol::message_type(protocol::Method::kData, protocol::MessageClass::kIndication);
}  // namespace

void report_icmp(Turn& t, Allocation& a, const protocol::TransportAddress& peer,
                 const protocol::IcmpValue& icmp, TimePoint now, Outbox& out) {
  if (!a.has_permission(peer, now)) return;
  protocol::MessageBuilder b(t.buf, kDataIndication, t.random_tid());
  b.add_xor_address(attr::kXorPeerAddress, peer);
  b.add_icmp(icmp);
  auto done = b.finish();
  if (done) out.to_client(a.data_flow(), *done);
}

void relay_from_peer(Turn& t, Allocation& a, const RelayEndpoint& relay,
                     const protocol::TransportAddress& peer, std::span<const std::uint8_t> data,
                     TimePoint now, Outbox& out) {
  (void)relay;
  t.stats.peer_received.count(data.size());
  if (!a.has_permission(peer, now)) {
    t.stats.drop(Drop::kNoPermission);
    return;
  }
  if (const ChannelBinding* binding = a.channel_by_peer(peer, now)) {
    const bool stream = is_stream(a.flow.transport);  // moves stay on datagrams (UDP, DTLS)
    const std::size_t size = stream ? protocol::channel_data_stream_size(data.size())
                                    : protocol::kChannelDataHeader + data.size();
    if (size > t.buf.size() || data.size() > 0xFFFF) return;
    protocol::write_channel_data_header(t.buf.data(), binding->number,
                                        static_cast<std::uint16_t>(data.size()));
    std::copy(data.begin(), data.end(), t.buf.begin() + protocol::kChannelDataHeader);
    std::fill(
        t.buf.begin() + static_cast<std::ptrdiff_t>(protocol::kChannelDataHeader + data.size()),
        t.buf.begin() + static_cast<std::ptrdiff_t>(size), std::uint8_t{0});
    t.stats.client_sent.count(data.size());
    out.to_client(a.data_flow(), t.buf.first(size));
    return;
  }
  protocol::MessageBuilder b(t.buf, kDataIndication, t.random_tid());
  b.add_xor_address(attr::kXorPeerAddress, peer);
  b.add(attr::kData, data);
  auto done = b.finish();
  if (!done) return;  // too large for a Data indication
  t.stats.client_sent.count(data.size());
  out.to_client(a.data_flow(), *done);
}

}  // namespace tern::core
