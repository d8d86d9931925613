// Writes one STUN message into a caller's buffer: zeroed padding, integrity and fingerprint last.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tern/protocol/address.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/error_code.hpp"
#include "tern/protocol/message.hpp"

namespace tern::protocol {

// Every add_* returns false and poisons the builder once the buffer is too small; finish()
// then fails too, so callers may check once at the end.
class MessageBuilder {
 public:
  MessageBuilder(std::span<std::uint8_t> out, std::uint16_t type,
                 const TransactionId& tid) noexcept;
  // A classic RFC 3489 header: the 16 bytes after the length are copied from `header_id`.
  MessageBuilder(std::span<std::uint8_t> out, std::uint16_t type, Bytes header_id) noexcept;

  bool add(std::uint16_t type, Bytes value) noexcept;
  bool add_string(std::uint16_t type, std::string_view value) noexcept;
  bool add_u32(std::uint16_t type, std::uint32_t value) noexcept;
  bool add_address(std::uint16_t type, const TransportAddress& a) noexcept;
  bool add_xor_address(std::uint16_t type, const TransportAddress& a) noexcept;
  bool add_error_code(std::uint16_t code, std::string_view reason) noexcept;
  // ERROR-CODE with the RFC's reason phrase.
  bool add_error_code(ErrorCode code) noexcept {
    return add_error_code(code_number(code), reason_phrase(code));
  }
  bool add_unknown_attributes(std::span<const std::uint16_t> types) noexcept;
  bool add_channel_number(std::uint16_t channel) noexcept;
  bool add_requested_transport(std::uint8_t protocol) noexcept;
  bool add_address_family(std::uint16_t type, Family family) noexcept;
  bool add_address_error_code(Family family, std::uint16_t code, std::string_view reason) noexcept;
  bool add_address_error_code(Family family, ErrorCode code) noexcept {
    return add_address_error_code(family, code_number(code), reason_phrase(code));
  }
  bool add_even_port(bool reserve) noexcept;
  bool add_icmp(const IcmpValue& icmp) noexcept;
  bool add_password_algorithm(std::uint16_t algorithm, Bytes parameters = {}) noexcept;
  bool add_password_algorithms(std::span<const PasswordAlgorithmValue> items) noexcept;

  // RFC 8489 §14.5, §14.6, §14.7. Call in this order; nothing may follow FINGERPRINT.
  bool add_message_integrity(Bytes key) noexcept;
  bool add_message_integrity_sha256(Bytes key) noexcept;
  bool add_fingerprint() noexcept;

  // The finished message (its header length set), or kBufferTooSmall.
  Result<std::span<const std::uint8_t>> finish() const noexcept;
  std::size_t size() const noexcept { return size_; }

  // RFC 8489 says padding is zero on send, the default. RFC 5769's sample messages pad with
  // 0x20; this exists only so that tests can reproduce them byte for byte.
  void set_padding_byte(std::uint8_t b) noexcept { padding_byte_ = b; }
  bool ok() const noexcept { return ok_; }

 private:
  std::uint8_t* reserve(std::uint16_t type, std::size_t length) noexcept;
  void set_length(std::size_t body) noexcept;

  std::span<std::uint8_t> out_;
  std::size_t size_ = 0;
  bool ok_ = true;
  std::uint8_t padding_byte_ = 0;
  TransactionId tid_{};
};

}  // namespace tern::protocol
