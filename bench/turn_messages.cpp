// TURN request builders and response readers for the benchmark client (see turn_messages.hpp).
#include "turn_messages.hpp"

#include "tern/auth/keys.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"

namespace tern::bench {

namespace attr = protocol::attr;
using protocol::message_type;
using protocol::MessageBuilder;
using protocol::MessageClass;
using protocol::Method;

void Credentials::set_realm(const std::string& r) {
  if (r == realm && !key.empty()) return;
  realm = r;
  const auto k = auth::md5_key(username, realm, password);
  key.assign(k.begin(), k.end());
}

TransactionId random_tid(std::mt19937_64& rng) {
  TransactionId tid{};
  for (std::size_t i = 0; i < tid.size(); i += 4) {
    const auto r = rng();
    for (std::size_t j = 0; j < 4; ++j) tid[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  return tid;
}

namespace {

std::size_t done(const MessageBuilder& b) {
  auto r = b.finish();
  return r ? r->size() : 0;
}

void sign(MessageBuilder& b, const Credentials& c) {
  b.add_string(attr::kUsername, c.username);
  b.add_string(attr::kRealm, c.realm);
  b.add_string(attr::kNonce, c.nonce);
  b.add_message_integrity(c.key);
}

std::uint16_t request(Method m) {
  return message_type(m, MessageClass::kRequest);
}

}  // namespace

std::size_t build_binding(std::span<std::uint8_t> out, const TransactionId& tid) {
  MessageBuilder b(out, request(Method::kBinding), tid);
  return done(b);
}

std::size_t build_allocate(std::span<std::uint8_t> out, const TransactionId& tid,
                           const Credentials* creds) {
  MessageBuilder b(out, request(Method::kAllocate), tid);
  b.add_requested_transport(protocol::kProtocolUdp);
  if (creds != nullptr) sign(b, *creds);
  return done(b);
}

std::size_t build_refresh(std::span<std::uint8_t> out, const TransactionId& tid,
                          const Credentials& creds, std::uint32_t lifetime) {
  MessageBuilder b(out, request(Method::kRefresh), tid);
  b.add_u32(attr::kLifetime, lifetime);
  sign(b, creds);
  return done(b);
}

std::size_t build_create_permission(std::span<std::uint8_t> out, const TransactionId& tid,
                                    const Credentials& creds, const TransportAddress& peer) {
  MessageBuilder b(out, request(Method::kCreatePermission), tid);
  b.add_xor_address(attr::kXorPeerAddress, peer);
  sign(b, creds);
  return done(b);
}

std::size_t build_channel_bind(std::span<std::uint8_t> out, const TransactionId& tid,
                               const Credentials& creds, std::uint16_t channel,
                               const TransportAddress& peer) {
  MessageBuilder b(out, request(Method::kChannelBind), tid);
  b.add_channel_number(channel);
  b.add_xor_address(attr::kXorPeerAddress, peer);
  sign(b, creds);
  return done(b);
}

std::size_t build_send_indication(std::span<std::uint8_t> out, const TransactionId& tid,
                                  const TransportAddress& peer,
                                  std::span<const std::uint8_t> data) {
  MessageBuilder b(out, message_type(Method::kSend, MessageClass::kIndication), tid);
  b.add_xor_address(attr::kXorPeerAddress, peer);
  b.add(attr::kData, data);
  return done(b);
}

std::optional<Response> parse_response(std::span<const std::uint8_t> bytes) {
  auto m = protocol::MessageView::parse(bytes);
  if (!m) return std::nullopt;
  const auto cls = m->message_class();
  if (cls != MessageClass::kSuccessResponse && cls != MessageClass::kErrorResponse) {
    return std::nullopt;
  }
  Response r;
  r.method = static_cast<Method>(m->method());
  r.success = cls == MessageClass::kSuccessResponse;
  r.tid = m->transaction_id();
  if (auto v = m->find_value(attr::kErrorCode)) {
    if (auto e = protocol::decode_error_code(*v)) r.error = e->code;
  }
  if (!r.success && r.error == 0) r.error = 500;
  if (auto v = m->find_value(attr::kRealm)) {
    if (auto s = protocol::decode_realm(*v)) r.realm = std::string(*s);
  }
  if (auto v = m->find_value(attr::kNonce)) {
    if (auto s = protocol::decode_nonce(*v)) r.nonce = std::string(*s);
  }
  if (auto v = m->find_value(attr::kXorRelayedAddress)) {
    if (auto a = protocol::decode_xor_address(*v, r.tid)) r.relayed = *a;
  }
  if (auto v = m->find_value(attr::kXorMappedAddress)) {
    if (auto a = protocol::decode_xor_address(*v, r.tid)) r.mapped = *a;
  }
  return r;
}

std::optional<std::span<const std::uint8_t>> data_indication_payload(
    std::span<const std::uint8_t> bytes) {
  auto m = protocol::MessageView::parse(bytes);
  if (!m || m->message_class() != MessageClass::kIndication ||
      m->method() != static_cast<std::uint16_t>(Method::kData)) {
    return std::nullopt;
  }
  auto v = m->find_value(attr::kData);
  if (!v) return std::nullopt;
  return *v;
}

}  // namespace tern::bench
