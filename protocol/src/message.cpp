// MessageView::parse: header checks and the attribute index (RFC 8489 §5, §6.3, §14).
#include "tern/protocol/message.hpp"

#include <algorithm>

#include "tern/protocol/bytes.hpp"

namespace tern::protocol {
namespace {

Error check_header(Bytes d, bool allow_classic, bool& classic) noexcept {
  if (d.size() < kHeaderSize) return Error::kTruncated;
  if ((d[0] & 0xC0) != 0) return Error::kTopBitsSet;
  const std::size_t length = load_be16(d.data() + 2);
  if (length % 4 != 0 || kHeaderSize + length != d.size()) return Error::kBadLength;
  classic = load_be32(d.data() + 4) != kMagicCookie;
  if (classic && !allow_classic) return Error::kBadMagicCookie;
  return Error::kOk;
}

// Which attributes count once MESSAGE-INTEGRITY(-SHA256) has been seen (RFC 8489 §14.5, §14.6).
bool counts(std::uint16_t type, bool after_mi, bool after_mi256) noexcept {
  if (type == attr::kFingerprint) return true;
  if (after_mi256) return false;
  if (after_mi) return type == attr::kMessageIntegritySha256;
  return true;
}

}  // namespace

Result<MessageView> MessageView::parse(Bytes d, ParseOptions options) noexcept {
  MessageView m;
  if (const Error e = check_header(d, options.allow_classic, m.classic_); e != Error::kOk) return e;
  m.bytes_ = d;
  m.type_ = load_be16(d.data());
  std::copy_n(d.begin() + 8, 12, m.tid_.begin());

  bool after_mi = false, after_mi256 = false, after_fp = false;
  std::size_t pos = kHeaderSize;
  while (pos < d.size()) {
    if (d.size() - pos < 4) return Error::kAttributeOverrun;
    if (after_fp) return Error::kAfterFingerprint;
    const std::uint16_t type = load_be16(d.data() + pos);
    const std::uint16_t length = load_be16(d.data() + pos + 2);
    if (padded4(length) > d.size() - pos - 4) return Error::kAttributeOverrun;
    if (counts(type, after_mi, after_mi256)) {
      if (m.count_ == kMaxAttributes) return Error::kTooManyAttributes;
      m.attrs_[m.count_++] = {type, length, static_cast<std::uint32_t>(pos)};
    }
    after_mi = after_mi || type == attr::kMessageIntegrity;
    after_mi256 = after_mi256 || type == attr::kMessageIntegritySha256;
    if (type == attr::kFingerprint) {
      if (length != 4) return Error::kBadAttributeLength;
      after_fp = true;
    }
    pos += 4 + padded4(length);
  }
  return m;
}

std::optional<Attribute> MessageView::find(std::uint16_t type) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (attrs_[i].type == type) return attrs_[i];
  }
  return std::nullopt;
}

std::optional<Bytes> MessageView::find_value(std::uint16_t type) const noexcept {
  if (auto a = find(type)) return value(*a);
  return std::nullopt;
}

bool looks_like_stun(Bytes d) noexcept {
  return d.size() >= kHeaderSize && (d[0] & 0xC0) == 0 && load_be32(d.data() + 4) == kMagicCookie &&
         load_be16(d.data() + 2) % 4 == 0;
}

}  // namespace tern::protocol
