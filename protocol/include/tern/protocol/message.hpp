// A non-owning, validated view of one STUN message with an index of its attributes (RFC 8489 §5, §6.3).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "tern/protocol/constants.hpp"
#include "tern/protocol/result.hpp"

namespace tern::protocol {

using Bytes = std::span<const std::uint8_t>;
using TransactionId = std::array<std::uint8_t, 12>;

struct Attribute {
  std::uint16_t type = 0;
  std::uint16_t length = 0;  // unpadded value length
  // Of the attribute header from the start of the message: up to 20 + 0xFFFC - 4, which
  // does not fit in 16 bits.
  std::uint32_t offset = 0;
};

struct ParseOptions {
  // Accept RFC 3489 messages without the magic cookie (bytes 4-19 are then the transaction id).
  bool allow_classic = false;
};

// Parsing checks the header and the attribute TLVs, records up to kMaxAttributes of them and
// never allocates. The view borrows the bytes: they must outlive it and stay unchanged.
class MessageView {
 public:
  static constexpr std::size_t kMaxAttributes = 40;

  static Result<MessageView> parse(Bytes datagram, ParseOptions options = {}) noexcept;

  std::uint16_t type() const noexcept { return type_; }
  std::uint16_t method() const noexcept { return method_of(type_); }
  MessageClass message_class() const noexcept { return class_of(type_); }
  bool is_classic() const noexcept { return classic_; }
  // The 96-bit id; for a classic message, its last 12 bytes.
  const TransactionId& transaction_id() const noexcept { return tid_; }
  // Bytes 4..19 of the header (cookie + id, or the classic 128-bit id).
  Bytes header_id() const noexcept { return bytes_.subspan(4, 16); }
  Bytes bytes() const noexcept { return bytes_; }

  // Attributes that count (RFC 8489 §14.5-14.7): everything before MESSAGE-INTEGRITY, then
  // MESSAGE-INTEGRITY-SHA256 and FINGERPRINT after it. Others are ignored and not listed.
  std::span<const Attribute> attributes() const noexcept { return {attrs_.data(), count_}; }
  // The first attribute of this type, if any.
  std::optional<Attribute> find(std::uint16_t type) const noexcept;
  // Value bytes of an attribute from attributes() or find().
  Bytes value(const Attribute& a) const noexcept {
    return bytes_.subspan(a.offset + 4u, a.length);
  }
  std::optional<Bytes> find_value(std::uint16_t type) const noexcept;

 private:
  Bytes bytes_;
  std::uint16_t type_ = 0;
  bool classic_ = false;
  TransactionId tid_{};
  std::array<Attribute, kMaxAttributes> attrs_{};
  std::size_t count_ = 0;
};

// True when the bytes look like a STUN message with the magic cookie (cheap, for demux).
bool looks_like_stun(Bytes datagram) noexcept;

}  // namespace tern::protocol
