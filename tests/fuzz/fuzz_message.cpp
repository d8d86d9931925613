// libFuzzer target: MessageView::parse, every attribute decoder and the integrity checks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "require.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"
#include "tern/protocol/message.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

bool inside(Bytes outer, const void* p, std::size_t n) {
  const auto lo = reinterpret_cast<std::uintptr_t>(outer.data());
  const auto q = reinterpret_cast<std::uintptr_t>(p);
  return n == 0 || (q >= lo && q + n <= lo + outer.size());
}

Bytes bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// RFC 5769 short-term password and the RFC 8489 B.1 SHA-256 key, so seeds reach kValid.
constexpr std::string_view kShortTermKey = "VOkJxbRl1RmTxUk/WvJxBt";
constexpr std::uint8_t kSha256Key[32] = {
    0xdd, 0x29, 0x5a, 0x61, 0x3b, 0x90, 0x58, 0xc3, 0xc2, 0x3d, 0x6d, 0xc7, 0x16, 0x5b, 0xda, 0x07,
    0x23, 0x04, 0xd9, 0x89, 0xc9, 0xd0, 0xaf, 0x3a, 0x8c, 0x7e, 0x18, 0x4b, 0x4f, 0x9b, 0xb4, 0xa1};

void decode_one(const MessageView& m, const Attribute& a) {
  const Bytes v = m.value(a);
  require(v.size() == a.length && inside(m.bytes(), v.data(), v.size()));
  auto text = [&](const Result<std::string_view>& r) {
    if (r) require(inside(v, r->data(), r->size()));
  };
  switch (a.type) {
    case attr::kMappedAddress:
    case attr::kAlternateServer:
    case attr::kResponseOrigin:
    case attr::kOtherAddress:
      (void)decode_address(v);
      break;
    case attr::kXorMappedAddress:
    case attr::kXorPeerAddress:
    case attr::kXorRelayedAddress:
      (void)decode_xor_address(v, m.transaction_id());
      break;
    case attr::kUsername:
      text(decode_username(v));
      break;
    case attr::kRealm:
      text(decode_realm(v));
      break;
    case attr::kNonce:
      text(decode_nonce(v));
      break;
    case attr::kSoftware:
      text(decode_software(v));
      break;
    case attr::kAlternateDomain:
      text(decode_alternate_domain(v));
      break;
    case attr::kErrorCode:
      if (auto r = decode_error_code(v)) {
        require(r->code >= 300 && r->code <= 699 && inside(v, r->reason.data(), r->reason.size()));
      }
      break;
    case attr::kUnknownAttributes:
      if (auto r = decode_unknown_attributes(v)) require(r->count * 2 == v.size());
      break;
    case attr::kChannelNumber:
      (void)decode_channel_number(v);
      break;
    case attr::kLifetime:
      (void)decode_lifetime(v);
      break;
    case attr::kRequestedTransport:
      (void)decode_requested_transport(v);
      break;
    case attr::kRequestedAddressFamily:
      (void)decode_requested_address_family(v);
      break;
    case attr::kAdditionalAddressFamily:
      (void)decode_additional_address_family(v);
      break;
    case attr::kAddressErrorCode:
      if (auto r = decode_address_error_code(v)) {
        require(r->code >= 300 && r->code <= 699 && inside(v, r->reason.data(), r->reason.size()));
      }
      break;
    case attr::kEvenPort:
      (void)decode_even_port(v);
      break;
    case attr::kReservationToken:
      (void)decode_reservation_token(v);
      break;
    case attr::kDontFragment:
      (void)decode_dont_fragment(v);
      break;
    case attr::kData:
      if (auto r = decode_data(v)) require(r->data() == v.data() && r->size() == v.size());
      break;
    case attr::kIcmp:
      (void)decode_icmp(v);
      break;
    case attr::kConnectionId:
      (void)decode_connection_id(v);
      break;
    case attr::kPasswordAlgorithm:
      if (auto r = decode_password_algorithm(v)) {
        require(inside(v, r->parameters.data(), r->parameters.size()));
      }
      break;
    case attr::kPasswordAlgorithms:
      if (auto r = decode_password_algorithms(v)) {
        require(r->count >= 1 && r->count <= r->items.size());
        for (std::size_t i = 0; i < r->count; ++i) {
          require(inside(v, r->items[i].parameters.data(), r->items[i].parameters.size()));
        }
      }
      break;
    case attr::kUserhash:
      (void)decode_userhash(v);
      break;
    default:
      break;
  }
}

// The index must be ordered, inside the message, and FINGERPRINT (if any) the last 8 bytes.
void check_index(const MessageView& m) {
  const auto attrs = m.attributes();
  require(attrs.size() <= MessageView::kMaxAttributes);
  std::size_t end = kHeaderSize;
  for (const Attribute& a : attrs) {
    require(a.offset >= end && a.offset + 4 + padded4(a.length) <= m.bytes().size());
    end = a.offset + 4 + padded4(a.length);
    if (a.type == attr::kFingerprint) require(a.length == 4 && end == m.bytes().size());
  }
}

void walk(const MessageView& m) {
  check_index(m);
  for (const Attribute& a : m.attributes()) decode_one(m, a);
  (void)check_fingerprint(m);
  (void)check_message_integrity(m, bytes_of(kShortTermKey));
  (void)check_message_integrity_sha256(m, bytes_of(kShortTermKey));
  (void)check_message_integrity(m, Bytes(kSha256Key));
  (void)check_message_integrity_sha256(m, Bytes(kSha256Key));
}

// Re-parses with an unknown optional attribute in front that pushes the original attributes to
// the end of a maximum-size message (offsets above 0xFFFF); each must keep its type and value.
void check_at_max_size(Bytes d, const MessageView& m) {
  constexpr std::size_t kMax = kHeaderSize + 0xFFFC;
  const std::size_t body = d.size() - kHeaderSize;
  const std::size_t filler = kMax - kHeaderSize - 4 - body;
  std::vector<std::uint8_t> big(kMax, 0);
  std::copy_n(d.begin(), kHeaderSize, big.begin());
  store_be16(big.data() + 2, 0xFFFC);
  store_be16(big.data() + kHeaderSize, 0x8FFF);
  store_be16(big.data() + kHeaderSize + 2, static_cast<std::uint16_t>(filler));
  std::copy(d.begin() + kHeaderSize, d.end(), big.end() - static_cast<std::ptrdiff_t>(body));
  const auto b = MessageView::parse(big, {.allow_classic = m.is_classic()});
  if (m.attributes().size() == MessageView::kMaxAttributes) {
    require(!b && b.error() == Error::kTooManyAttributes);
    return;
  }
  require(b && b->attributes().size() == m.attributes().size() + 1);
  check_index(*b);
  for (std::size_t i = 0; i < m.attributes().size(); ++i) {
    const Attribute& x = m.attributes()[i];
    const Attribute& y = b->attributes()[i + 1];
    const Bytes vx = m.value(x), vy = b->value(y);
    require(x.type == y.type && x.length == y.length &&
            std::equal(vx.begin(), vx.end(), vy.begin(), vy.end()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::uint8_t> buf(data, data + size);
  const auto modern = MessageView::parse(buf);
  const auto classic = MessageView::parse(buf, {.allow_classic = true});
  if (modern) {
    require(classic && !classic->is_classic() &&
            classic->attributes().size() == modern->attributes().size());
    walk(*modern);
    check_at_max_size(buf, *modern);
  }
  if (classic) {
    require(modern || (classic->is_classic() && modern.error() == Error::kBadMagicCookie));
    walk(*classic);
    if (!modern) check_at_max_size(buf, *classic);
  }
  require(size == 0 || std::memcmp(buf.data(), data, size) == 0);
  return 0;
}
