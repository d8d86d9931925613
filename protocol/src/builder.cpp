// MessageBuilder: attributes written in place into the caller's buffer, padding zeroed.
#include "tern/protocol/builder.hpp"

#include <algorithm>

#include "hmac.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::protocol {

MessageBuilder::MessageBuilder(std::span<std::uint8_t> out, std::uint16_t type,
                               const TransactionId& tid) noexcept
    : out_(out), tid_(tid) {
  if (out_.size() < kHeaderSize) {
    ok_ = false;
    return;
  }
  store_be16(out_.data(), type);
  store_be16(out_.data() + 2, 0);
  store_be32(out_.data() + 4, kMagicCookie);
  std::copy(tid.begin(), tid.end(), out_.begin() + 8);
  size_ = kHeaderSize;
}

MessageBuilder::MessageBuilder(std::span<std::uint8_t> out, std::uint16_t type,
                               Bytes header_id) noexcept
    : out_(out) {
  if (out_.size() < kHeaderSize || header_id.size() != 16) {
    ok_ = false;
    return;
  }
  store_be16(out_.data(), type);
  store_be16(out_.data() + 2, 0);
  std::copy(header_id.begin(), header_id.end(), out_.begin() + 4);
  std::copy_n(header_id.begin() + 4, 12, tid_.begin());
  size_ = kHeaderSize;
}

void MessageBuilder::set_length(std::size_t body) noexcept {
  store_be16(out_.data() + 2, static_cast<std::uint16_t>(body));
}

std::uint8_t* MessageBuilder::reserve(std::uint16_t type, std::size_t length) noexcept {
  const std::size_t total = 4 + padded4(length);
  if (!ok_ || length > 0xFFFF || total > out_.size() - size_ || size_ + total - kHeaderSize > 0xFFFC) {
    ok_ = false;
    return nullptr;
  }
  std::uint8_t* p = out_.data() + size_;
  store_be16(p, type);
  store_be16(p + 2, static_cast<std::uint16_t>(length));
  std::fill(p + 4, p + 4 + length, std::uint8_t{0});
  std::fill(p + 4 + length, p + total, padding_byte_);
  size_ += total;
  set_length(size_ - kHeaderSize);
  return p + 4;
}

bool MessageBuilder::add(std::uint16_t type, Bytes value) noexcept {
  std::uint8_t* p = reserve(type, value.size());
  if (p != nullptr) std::copy(value.begin(), value.end(), p);
  return p != nullptr;
}

bool MessageBuilder::add_string(std::uint16_t type, std::string_view value) noexcept {
  return add(type, Bytes(reinterpret_cast<const std::uint8_t*>(value.data()), value.size()));
}

bool MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) noexcept {
  std::uint8_t* p = reserve(type, 4);
  if (p != nullptr) store_be32(p, value);
  return p != nullptr;
}

bool MessageBuilder::add_address(std::uint16_t type, const TransportAddress& a) noexcept {
  std::uint8_t* p = reserve(type, 4 + a.ip_size());
  if (p == nullptr) return false;
  p[1] = static_cast<std::uint8_t>(a.family);
  store_be16(p + 2, a.port);
  std::copy_n(a.ip.begin(), a.ip_size(), p + 4);
  return true;
}

bool MessageBuilder::add_xor_address(std::uint16_t type, const TransportAddress& a) noexcept {
  TransportAddress x = a;
  std::array<std::uint8_t, 16> mask{};
  store_be32(mask.data(), kMagicCookie);
  std::copy(tid_.begin(), tid_.end(), mask.begin() + 4);
  x.port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  for (std::size_t i = 0; i < x.ip_size(); ++i) x.ip[i] ^= mask[i];
  return add_address(type, x);
}

bool MessageBuilder::add_error_code(std::uint16_t code, std::string_view reason) noexcept {
  std::uint8_t* p = reserve(attr::kErrorCode, 4 + reason.size());
  if (p == nullptr) return false;
  p[2] = static_cast<std::uint8_t>(code / 100);
  p[3] = static_cast<std::uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), p + 4);
  return true;
}

bool MessageBuilder::add_unknown_attributes(std::span<const std::uint16_t> types) noexcept {
  std::uint8_t* p = reserve(attr::kUnknownAttributes, types.size() * 2);
  if (p == nullptr) return false;
  for (std::size_t i = 0; i < types.size(); ++i) store_be16(p + 2 * i, types[i]);
  return true;
}

bool MessageBuilder::add_channel_number(std::uint16_t channel) noexcept {
  std::uint8_t* p = reserve(attr::kChannelNumber, 4);
  if (p != nullptr) store_be16(p, channel);
  return p != nullptr;
}

bool MessageBuilder::add_requested_transport(std::uint8_t protocol) noexcept {
  std::uint8_t* p = reserve(attr::kRequestedTransport, 4);
  if (p != nullptr) p[0] = protocol;
  return p != nullptr;
}

bool MessageBuilder::add_address_family(std::uint16_t type, Family family) noexcept {
  std::uint8_t* p = reserve(type, 4);
  if (p != nullptr) p[0] = static_cast<std::uint8_t>(family);
  return p != nullptr;
}

bool MessageBuilder::add_address_error_code(Family family, std::uint16_t code,
                                            std::string_view reason) noexcept {
  std::uint8_t* p = reserve(attr::kAddressErrorCode, 4 + reason.size());
  if (p == nullptr) return false;
  p[0] = static_cast<std::uint8_t>(family);
  p[2] = static_cast<std::uint8_t>(code / 100);
  p[3] = static_cast<std::uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), p + 4);
  return true;
}

bool MessageBuilder::add_even_port(bool reserve_next) noexcept {
  std::uint8_t* p = reserve(attr::kEvenPort, 1);
  if (p != nullptr) p[0] = reserve_next ? 0x80 : 0x00;
  return p != nullptr;
}

bool MessageBuilder::add_icmp(const IcmpValue& icmp) noexcept {
  std::uint8_t* p = reserve(attr::kIcmp, 8);
  if (p == nullptr) return false;
  p[2] = icmp.type;
  p[3] = icmp.code;
  store_be32(p + 4, icmp.error_data);
  return true;
}

bool MessageBuilder::add_password_algorithm(std::uint16_t algorithm, Bytes parameters) noexcept {
  std::uint8_t* p = reserve(attr::kPasswordAlgorithm, 4 + parameters.size());
  if (p == nullptr) return false;
  store_be16(p, algorithm);
  store_be16(p + 2, static_cast<std::uint16_t>(parameters.size()));
  std::copy(parameters.begin(), parameters.end(), p + 4);
  return true;
}

bool MessageBuilder::add_password_algorithms(std::span<const PasswordAlgorithmValue> items) noexcept {
  std::size_t length = 0;
  for (const auto& i : items) length += 4 + padded4(i.parameters.size());
  std::uint8_t* p = reserve(attr::kPasswordAlgorithms, length);
  if (p == nullptr) return false;
  for (const auto& i : items) {
    store_be16(p, i.algorithm);
    store_be16(p + 2, static_cast<std::uint16_t>(i.parameters.size()));
    std::copy(i.parameters.begin(), i.parameters.end(), p + 4);
    p += 4 + padded4(i.parameters.size());
  }
  return true;
}

bool MessageBuilder::add_message_integrity(Bytes key) noexcept {
  const std::size_t offset = size_;
  std::uint8_t* p = reserve(attr::kMessageIntegrity, 20);
  if (p == nullptr) return false;
  std::array<std::uint8_t, 32> mac{};
  const Bytes all(out_.data(), offset);
  if (detail::hmac(detail::Digest::kSha1, key, all.first(kHeaderSize), all.subspan(kHeaderSize), mac) != 20) {
    return ok_ = false;
  }
  std::copy_n(mac.begin(), 20, p);
  return true;
}

bool MessageBuilder::add_message_integrity_sha256(Bytes key) noexcept {
  const std::size_t offset = size_;
  std::uint8_t* p = reserve(attr::kMessageIntegritySha256, 32);
  if (p == nullptr) return false;
  std::array<std::uint8_t, 32> mac{};
  const Bytes all(out_.data(), offset);
  if (detail::hmac(detail::Digest::kSha256, key, all.first(kHeaderSize), all.subspan(kHeaderSize), mac) != 32) {
    return ok_ = false;
  }
  std::copy_n(mac.begin(), 32, p);
  return true;
}

bool MessageBuilder::add_fingerprint() noexcept {
  const std::size_t offset = size_;
  std::uint8_t* p = reserve(attr::kFingerprint, 4);
  if (p == nullptr) return false;
  store_be32(p, crc32(Bytes(out_.data(), offset)) ^ kFingerprintXor);
  return true;
}

Result<std::span<const std::uint8_t>> MessageBuilder::finish() const noexcept {
  if (!ok_) return Error::kBufferTooSmall;
  return std::span<const std::uint8_t>(out_.data(), size_);
}

}  // namespace tern::protocol
