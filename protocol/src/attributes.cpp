// Attribute value decoders with their length rules (RFC 8489 §14, RFC 8656 §18, RFC 6062 §6.2).
#include "tern/protocol/attributes.hpp"

#include <algorithm>

#include "tern/protocol/bytes.hpp"

namespace tern::protocol {
namespace {

constexpr std::size_t kMaxTextBytes = 763;

Result<Family> family_of(std::uint8_t b) noexcept {
  if (b == 0x01) return Family::kIPv4;
  if (b == 0x02) return Family::kIPv6;
  return Error::kBadAddressFamily;
}

Result<std::string_view> text(Bytes v, std::size_t max) noexcept {
  if (v.size() > max) return Error::kBadAttributeLength;
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size());
}

Result<std::uint32_t> u32(Bytes v) noexcept {
  if (v.size() != 4) return Error::kBadAttributeLength;
  return load_be32(v.data());
}

// Class and number as in ERROR-CODE: bytes 2 (low 3 bits) and 3 of the value.
Result<std::uint16_t> class_number(Bytes v) noexcept {
  const unsigned cls = v[2] & 0x07u, number = v[3];
  if (cls < 3 || cls > 6 || number > 99) return Error::kBadAttributeValue;
  return static_cast<std::uint16_t>(cls * 100 + number);
}

}  // namespace

Result<TransportAddress> decode_address(Bytes v) noexcept {
  if (v.size() < 4) return Error::kBadAttributeLength;
  auto family = family_of(v[1]);
  if (!family) return family.error();
  TransportAddress a;
  a.family = *family;
  if (v.size() != 4 + a.ip_size()) return Error::kBadAttributeLength;
  a.port = load_be16(v.data() + 2);
  std::copy_n(v.begin() + 4, a.ip_size(), a.ip.begin());
  return a;
}

Result<TransportAddress> decode_xor_address(Bytes v, const TransactionId& tid) noexcept {
  auto decoded = decode_address(v);
  if (!decoded) return decoded;
  TransportAddress a = *decoded;
  std::array<std::uint8_t, 16> mask{};
  store_be32(mask.data(), kMagicCookie);
  std::copy(tid.begin(), tid.end(), mask.begin() + 4);
  a.port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  for (std::size_t i = 0; i < a.ip_size(); ++i) a.ip[i] ^= mask[i];
  return a;
}

Result<std::string_view> decode_username(Bytes v) noexcept { return text(v, kMaxTextBytes); }
Result<std::string_view> decode_realm(Bytes v) noexcept { return text(v, kMaxTextBytes); }
Result<std::string_view> decode_nonce(Bytes v) noexcept { return text(v, kMaxTextBytes); }
Result<std::string_view> decode_software(Bytes v) noexcept { return text(v, kMaxTextBytes); }
Result<std::string_view> decode_alternate_domain(Bytes v) noexcept { return text(v, 255); }

Result<ErrorCodeValue> decode_error_code(Bytes v) noexcept {
  if (v.size() < 4) return Error::kBadAttributeLength;
  auto code = class_number(v);
  if (!code) return code.error();
  auto reason = text(v.subspan(4), kMaxTextBytes);
  if (!reason) return reason.error();
  return ErrorCodeValue{*code, *reason};
}

Result<UnknownAttributesValue> decode_unknown_attributes(Bytes v) noexcept {
  UnknownAttributesValue out;
  if (v.size() % 2 != 0 || v.size() / 2 > out.types.size()) return Error::kBadAttributeLength;
  for (std::size_t i = 0; i < v.size(); i += 2) out.types[out.count++] = load_be16(v.data() + i);
  return out;
}

Result<std::uint16_t> decode_channel_number(Bytes v) noexcept {
  if (v.size() != 4) return Error::kBadAttributeLength;
  return load_be16(v.data());
}

Result<std::uint32_t> decode_lifetime(Bytes v) noexcept { return u32(v); }

Result<std::uint8_t> decode_requested_transport(Bytes v) noexcept {
  if (v.size() != 4) return Error::kBadAttributeLength;
  return v[0];
}

Result<Family> decode_requested_address_family(Bytes v) noexcept {
  if (v.size() != 4) return Error::kBadAttributeLength;
  return family_of(v[0]);
}

Result<Family> decode_additional_address_family(Bytes v) noexcept {
  return decode_requested_address_family(v);
}

Result<AddressErrorCodeValue> decode_address_error_code(Bytes v) noexcept {
  if (v.size() < 4) return Error::kBadAttributeLength;
  auto family = family_of(v[0]);
  if (!family) return family.error();
  auto code = class_number(v);
  if (!code) return code.error();
  auto reason = text(v.subspan(4), kMaxTextBytes);
  if (!reason) return reason.error();
  return AddressErrorCodeValue{*family, *code, *reason};
}

Result<bool> decode_even_port(Bytes v) noexcept {
  if (v.size() != 1) return Error::kBadAttributeLength;
  return (v[0] & 0x80) != 0;
}

Result<ReservationToken> decode_reservation_token(Bytes v) noexcept {
  if (v.size() != 8) return Error::kBadAttributeLength;
  ReservationToken t{};
  std::copy(v.begin(), v.end(), t.begin());
  return t;
}

Result<bool> decode_dont_fragment(Bytes v) noexcept {
  if (!v.empty()) return Error::kBadAttributeLength;
  return true;
}

Result<Bytes> decode_data(Bytes v) noexcept { return v; }

Result<IcmpValue> decode_icmp(Bytes v) noexcept {
  if (v.size() != 8) return Error::kBadAttributeLength;
  return IcmpValue{v[2], v[3], load_be32(v.data() + 4)};
}

Result<std::uint32_t> decode_connection_id(Bytes v) noexcept { return u32(v); }

Result<PasswordAlgorithmValue> decode_password_algorithm(Bytes v) noexcept {
  if (v.size() < 4) return Error::kBadAttributeLength;
  const std::size_t params = load_be16(v.data() + 2);
  // The parameters are padded to 4 "in the same manner as an attribute" (RFC 8489 §14.12), so a
  // sender may count that padding in the attribute length; the receiver ignores it.
  if (4 + params > v.size() || v.size() > 4 + padded4(params)) return Error::kBadAttributeLength;
  return PasswordAlgorithmValue{load_be16(v.data()), v.subspan(4, params)};
}

Result<PasswordAlgorithmsValue> decode_password_algorithms(Bytes v) noexcept {
  PasswordAlgorithmsValue out;
  std::size_t pos = 0;
  while (pos < v.size()) {
    if (v.size() - pos < 4 || out.count == out.items.size()) return Error::kBadAttributeLength;
    const std::size_t params = load_be16(v.data() + pos + 2);
    if (padded4(params) > v.size() - pos - 4) return Error::kBadAttributeLength;
    out.items[out.count++] = {load_be16(v.data() + pos), v.subspan(pos + 4, params)};
    pos += 4 + padded4(params);
  }
  if (out.count == 0) return Error::kBadAttributeLength;
  return out;
}

Result<Userhash> decode_userhash(Bytes v) noexcept {
  if (v.size() != 32) return Error::kBadAttributeLength;
  Userhash h{};
  std::copy(v.begin(), v.end(), h.begin());
  return h;
}

}  // namespace tern::protocol
