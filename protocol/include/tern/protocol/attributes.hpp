// Decoders for every STUN/TURN attribute value, each with its length rules (RFC 8489 §14, RFC 8656 §18, RFC 6062).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "tern/protocol/address.hpp"
#include "tern/protocol/message.hpp"
#include "tern/protocol/result.hpp"

namespace tern::protocol {

// MAPPED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS.
Result<TransportAddress> decode_address(Bytes value) noexcept;
// XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS, XOR-RELAYED-ADDRESS.
Result<TransportAddress> decode_xor_address(Bytes value, const TransactionId& tid) noexcept;

// USERNAME, REALM, NONCE, SOFTWARE: at most 763 bytes (RFC 8489 §14: < 128 characters or < 509
// bytes on send; receivers accept up to 763),
// ALTERNATE-DOMAIN (<= 255 bytes). Content is not interpreted beyond its length.
Result<std::string_view> decode_username(Bytes value) noexcept;
Result<std::string_view> decode_realm(Bytes value) noexcept;
Result<std::string_view> decode_nonce(Bytes value) noexcept;
Result<std::string_view> decode_software(Bytes value) noexcept;
Result<std::string_view> decode_alternate_domain(Bytes value) noexcept;

struct ErrorCodeValue {
  std::uint16_t code = 0;  // class * 100 + number, 300..699
  std::string_view reason;
};
Result<ErrorCodeValue> decode_error_code(Bytes value) noexcept;

struct UnknownAttributesValue {
  std::array<std::uint16_t, 32> types{};
  std::size_t count = 0;
};
Result<UnknownAttributesValue> decode_unknown_attributes(Bytes value) noexcept;

// The raw number; the server core checks it against 0x4000-0x4FFF.
Result<std::uint16_t> decode_channel_number(Bytes value) noexcept;
Result<std::uint32_t> decode_lifetime(Bytes value) noexcept;
Result<std::uint8_t> decode_requested_transport(Bytes value) noexcept;  // protocol number
Result<Family> decode_requested_address_family(Bytes value) noexcept;
Result<Family> decode_additional_address_family(Bytes value) noexcept;  // value checked by core

struct AddressErrorCodeValue {
  Family family = Family::kIPv4;
  std::uint16_t code = 0;
  std::string_view reason;
};
Result<AddressErrorCodeValue> decode_address_error_code(Bytes value) noexcept;

Result<bool> decode_even_port(Bytes value) noexcept;  // the R bit
using ReservationToken = std::array<std::uint8_t, 8>;
Result<ReservationToken> decode_reservation_token(Bytes value) noexcept;
Result<bool> decode_dont_fragment(Bytes value) noexcept;  // zero length; true when well formed
Result<Bytes> decode_data(Bytes value) noexcept;          // any length, including zero

struct IcmpValue {
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint32_t error_data = 0;
};
Result<IcmpValue> decode_icmp(Bytes value) noexcept;
Result<std::uint32_t> decode_connection_id(Bytes value) noexcept;

struct PasswordAlgorithmValue {
  std::uint16_t algorithm = 0;
  Bytes parameters;
};
Result<PasswordAlgorithmValue> decode_password_algorithm(Bytes value) noexcept;

struct PasswordAlgorithmsValue {
  std::array<PasswordAlgorithmValue, 8> items{};
  std::size_t count = 0;
};
Result<PasswordAlgorithmsValue> decode_password_algorithms(Bytes value) noexcept;

using Userhash = std::array<std::uint8_t, 32>;
Result<Userhash> decode_userhash(Bytes value) noexcept;

// MESSAGE-INTEGRITY is 20 bytes; MESSAGE-INTEGRITY-SHA256 16..32 and a multiple of 4;
// FINGERPRINT 4 bytes. Checked by integrity.hpp.

}  // namespace tern::protocol
