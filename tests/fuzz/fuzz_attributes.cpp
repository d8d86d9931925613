// libFuzzer target: byte 0 picks an attribute decoder, the rest is its value; what decodes must
// survive a MessageBuilder round trip unchanged. Keep kSelectors in step with make_corpus.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "require.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/bytes.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

constexpr TransactionId kTid = {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
constexpr std::size_t kSelectors = 24;

bool same(Bytes a, Bytes b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

// Builds a message holding only the attribute written by `add` into a buffer of exactly the
// expected size (pre-filled with 0xAA), checks its padding is zero and returns its value.
template <class Add>
Bytes reencode(std::vector<std::uint8_t>& buf, std::size_t value_size, std::uint16_t type,
               Add add) {
  buf.assign(kHeaderSize + 4 + padded4(value_size), 0xAA);
  MessageBuilder b(buf, 0x0101, kTid);
  require(add(b));
  const auto out = b.finish();
  require(out && out->size() == buf.size());
  const auto m = MessageView::parse(*out);
  require(m && m->attributes().size() == 1 && m->attributes()[0].type == type);
  const Attribute a = m->attributes()[0];
  require(a.length == value_size);
  for (std::size_t i = a.offset + 4u + a.length; i < buf.size(); ++i) require(buf[i] == 0);
  return m->value(a);
}

// The builder's value length: the input's, except that PASSWORD-ALGORITHM may arrive with the
// padding of its parameters counted in the value and is sent without it.
std::size_t encoded_size(std::uint16_t type, Bytes v) {
  return type == attr::kPasswordAlgorithm ? 4u + load_be16(v.data() + 2) : v.size();
}

// decode(v); if that succeeds, add the value through the builder, decode again and compare.
template <class Decode, class Add, class Eq>
void round_trip(Bytes v, std::uint16_t type, Decode decode, Add add, Eq eq) {
  const auto first = decode(v);
  if (!first || v.size() > 0xF000) return;
  std::vector<std::uint8_t> buf;
  const Bytes w =
      reencode(buf, encoded_size(type, v), type, [&](MessageBuilder& b) { return add(b, *first); });
  const auto second = decode(w);
  require(second && eq(*first, *second));
}

const auto kEq = [](const auto& a, const auto& b) { return a == b; };

template <class Decode>
void text_round_trip(Bytes v, std::uint16_t type, Decode decode) {
  round_trip(
      v, type, decode, [&](MessageBuilder& b, std::string_view s) { return b.add_string(type, s); },
      kEq);
}

template <class Decode>
void u32_round_trip(Bytes v, std::uint16_t type, Decode decode) {
  round_trip(
      v, type, decode, [&](MessageBuilder& b, std::uint32_t x) { return b.add_u32(type, x); }, kEq);
}

template <class Decode>
void raw_round_trip(Bytes v, std::uint16_t type, Decode decode) {
  round_trip(
      v, type, decode, [&](MessageBuilder& b, const auto& x) { return b.add(type, Bytes(x)); },
      [](const auto& x, const auto& y) { return same(Bytes(x), Bytes(y)); });
}

template <class Decode>
void family_round_trip(Bytes v, std::uint16_t type, Decode decode) {
  round_trip(
      v, type, decode, [&](MessageBuilder& b, Family f) { return b.add_address_family(type, f); },
      kEq);
}

void fuzz_one(std::uint8_t selector, Bytes v) {
  switch (selector % kSelectors) {
    case 0:
      round_trip(
          v, attr::kMappedAddress, decode_address,
          [](MessageBuilder& b, const TransportAddress& a) {
            return b.add_address(attr::kMappedAddress, a);
          },
          kEq);
      break;
    case 1:
      round_trip(
          v, attr::kXorPeerAddress, [](Bytes x) { return decode_xor_address(x, kTid); },
          [](MessageBuilder& b, const TransportAddress& a) {
            return b.add_xor_address(attr::kXorPeerAddress, a);
          },
          kEq);
      break;
    case 2:
      text_round_trip(v, attr::kUsername, decode_username);
      break;
    case 3:
      text_round_trip(v, attr::kRealm, decode_realm);
      break;
    case 4:
      text_round_trip(v, attr::kNonce, decode_nonce);
      break;
    case 5:
      text_round_trip(v, attr::kSoftware, decode_software);
      break;
    case 6:
      text_round_trip(v, attr::kAlternateDomain, decode_alternate_domain);
      break;
    case 7:
      round_trip(
          v, attr::kErrorCode, decode_error_code,
          [](MessageBuilder& b, const ErrorCodeValue& e) {
            return b.add_error_code(e.code, e.reason);
          },
          [](const ErrorCodeValue& a, const ErrorCodeValue& b) {
            return a.code == b.code && a.reason == b.reason;
          });
      break;
    case 8:
      round_trip(
          v, attr::kUnknownAttributes, decode_unknown_attributes,
          [](MessageBuilder& b, const UnknownAttributesValue& u) {
            return b.add_unknown_attributes(std::span(u.types.data(), u.count));
          },
          [](const UnknownAttributesValue& a, const UnknownAttributesValue& b) {
            return a.count == b.count && a.types == b.types;
          });
      break;
    case 9:
      round_trip(
          v, attr::kChannelNumber, decode_channel_number,
          [](MessageBuilder& b, std::uint16_t c) { return b.add_channel_number(c); }, kEq);
      break;
    case 10:
      u32_round_trip(v, attr::kLifetime, decode_lifetime);
      break;
    case 11:
      round_trip(
          v, attr::kRequestedTransport, decode_requested_transport,
          [](MessageBuilder& b, std::uint8_t p) { return b.add_requested_transport(p); }, kEq);
      break;
    case 12:
      family_round_trip(v, attr::kRequestedAddressFamily, decode_requested_address_family);
      break;
    case 13:
      family_round_trip(v, attr::kAdditionalAddressFamily, decode_additional_address_family);
      break;
    case 14:
      round_trip(
          v, attr::kAddressErrorCode, decode_address_error_code,
          [](MessageBuilder& b, const AddressErrorCodeValue& e) {
            return b.add_address_error_code(e.family, e.code, e.reason);
          },
          [](const AddressErrorCodeValue& a, const AddressErrorCodeValue& b) {
            return a.family == b.family && a.code == b.code && a.reason == b.reason;
          });
      break;
    case 15:
      round_trip(
          v, attr::kEvenPort, decode_even_port,
          [](MessageBuilder& b, bool r) { return b.add_even_port(r); }, kEq);
      break;
    case 16:
      raw_round_trip(v, attr::kReservationToken, decode_reservation_token);
      break;
    case 17:
      round_trip(
          v, attr::kDontFragment, decode_dont_fragment,
          [](MessageBuilder& b, bool) { return b.add(attr::kDontFragment, {}); }, kEq);
      break;
    case 18:
      raw_round_trip(v, attr::kData, decode_data);
      break;
    case 19:
      round_trip(
          v, attr::kIcmp, decode_icmp,
          [](MessageBuilder& b, const IcmpValue& i) { return b.add_icmp(i); },
          [](const IcmpValue& a, const IcmpValue& b) {
            return a.type == b.type && a.code == b.code && a.error_data == b.error_data;
          });
      break;
    case 20:
      u32_round_trip(v, attr::kConnectionId, decode_connection_id);
      break;
    case 21:
      round_trip(
          v, attr::kPasswordAlgorithm, decode_password_algorithm,
          [](MessageBuilder& b, const PasswordAlgorithmValue& p) {
            return b.add_password_algorithm(p.algorithm, p.parameters);
          },
          [](const PasswordAlgorithmValue& a, const PasswordAlgorithmValue& b) {
            return a.algorithm == b.algorithm && same(a.parameters, b.parameters);
          });
      break;
    case 22:
      round_trip(
          v, attr::kPasswordAlgorithms, decode_password_algorithms,
          [](MessageBuilder& b, const PasswordAlgorithmsValue& p) {
            return b.add_password_algorithms(std::span(p.items.data(), p.count));
          },
          [](const PasswordAlgorithmsValue& a, const PasswordAlgorithmsValue& b) {
            if (a.count != b.count) return false;
            for (std::size_t i = 0; i < a.count; ++i) {
              if (a.items[i].algorithm != b.items[i].algorithm ||
                  !same(a.items[i].parameters, b.items[i].parameters)) {
                return false;
              }
            }
            return true;
          });
      break;
    case 23:
      raw_round_trip(v, attr::kUserhash, decode_userhash);
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  fuzz_one(data[0], Bytes(data + 1, size - 1));
  return 0;
}
