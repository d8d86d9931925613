// Verification of MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT without mutating the message.
#include "tern/protocol/integrity.hpp"

#include <algorithm>

#include "hmac.hpp"
#include "tern/protocol/bytes.hpp"

namespace tern::protocol {
namespace {

constexpr std::array<std::uint32_t, 256> make_crc_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

// The MAC covers the message up to the integrity attribute, with the header length patched
// to end just after that attribute (RFC 8489 §14.5).
Check check_mac(const MessageView& m, std::uint16_t type, detail::Digest digest, Bytes key) {
  const auto a = m.find(type);
  if (!a) return Check::kAbsent;
  const std::size_t mac_len = a->length;
  if (digest == detail::Digest::kSha1 ? mac_len != 20
                                      : (mac_len < 16 || mac_len > 32 || mac_len % 4 != 0)) {
    return Check::kInvalid;
  }
  const Bytes msg = m.bytes();
  std::array<std::uint8_t, kHeaderSize> head{};
  std::copy_n(msg.begin(), kHeaderSize, head.begin());
  store_be16(head.data() + 2, static_cast<std::uint16_t>(a->offset + 4 + mac_len - kHeaderSize));
  std::array<std::uint8_t, 32> mac{};
  const std::size_t n = detail::hmac(digest, key, head, msg.subspan(kHeaderSize, a->offset - kHeaderSize), mac);
  if (n < mac_len) return Check::kInvalid;
  return equal_constant_time(Bytes(mac.data(), mac_len), m.value(*a)) ? Check::kValid
                                                                      : Check::kInvalid;
}

}  // namespace

std::uint32_t crc32(Bytes data, std::uint32_t crc) noexcept {
  crc = ~crc;
  for (std::uint8_t b : data) crc = kCrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool equal_constant_time(Bytes a, Bytes b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned>(a[i] ^ b[i]);
  return diff == 0;
}

Check check_message_integrity(const MessageView& m, Bytes key) noexcept {
  return check_mac(m, attr::kMessageIntegrity, detail::Digest::kSha1, key);
}

Check check_message_integrity_sha256(const MessageView& m, Bytes key) noexcept {
  return check_mac(m, attr::kMessageIntegritySha256, detail::Digest::kSha256, key);
}

Check check_fingerprint(const MessageView& m) noexcept {
  const auto a = m.find(attr::kFingerprint);
  if (!a) return Check::kAbsent;
  const std::uint32_t expected = crc32(m.bytes().first(a->offset)) ^ kFingerprintXor;
  return load_be32(m.value(*a).data()) == expected ? Check::kValid : Check::kInvalid;
}

}  // namespace tern::protocol
