// STUN/TURN numbers from the IANA registries: methods, classes, attribute types (RFC 8489, 8656).
#pragma once

#include <cstdint>

namespace tern::protocol {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;

enum class Method : std::uint16_t {
  kBinding = 0x001,
  kAllocate = 0x003,
  kRefresh = 0x004,
  kSend = 0x006,
  kData = 0x007,
  kCreatePermission = 0x008,
  kChannelBind = 0x009,
  kConnect = 0x00A,
  kConnectionBind = 0x00B,
  kConnectionAttempt = 0x00C,
};

enum class MessageClass : std::uint8_t {
  kRequest = 0,
  kIndication = 1,
  kSuccessResponse = 2,
  kErrorResponse = 3,
};

// RFC 8489 §5: M11..M7 C1 M6..M4 C0 M3..M0.
constexpr std::uint16_t message_type(Method m, MessageClass c) noexcept {
  const auto mv = static_cast<std::uint16_t>(m);
  const auto cv = static_cast<std::uint16_t>(c);
  return static_cast<std::uint16_t>(((mv & 0x0F80) << 2) | ((mv & 0x0070) << 1) | (mv & 0x000F) |
                                    ((cv & 0x2) << 7) | ((cv & 0x1) << 4));
}

constexpr std::uint16_t method_of(std::uint16_t type) noexcept {
  return static_cast<std::uint16_t>(((type & 0x3E00) >> 2) | ((type & 0x00E0) >> 1) |
                                    (type & 0x000F));
}

constexpr MessageClass class_of(std::uint16_t type) noexcept {
  return static_cast<MessageClass>(((type & 0x0100) >> 7) | ((type & 0x0010) >> 4));
}

// Attribute types. 0x0000-0x7FFF comprehension-required, 0x8000-0xFFFF optional.
namespace attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kChangeRequest = 0x0003;
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kChannelNumber = 0x000C;
inline constexpr std::uint16_t kLifetime = 0x000D;
inline constexpr std::uint16_t kXorPeerAddress = 0x0012;
inline constexpr std::uint16_t kData = 0x0013;
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kXorRelayedAddress = 0x0016;
inline constexpr std::uint16_t kRequestedAddressFamily = 0x0017;
inline constexpr std::uint16_t kEvenPort = 0x0018;
inline constexpr std::uint16_t kRequestedTransport = 0x0019;
inline constexpr std::uint16_t kDontFragment = 0x001A;
inline constexpr std::uint16_t kAccessToken = 0x001B;
inline constexpr std::uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr std::uint16_t kUserhash = 0x001E;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kReservationToken = 0x0022;
inline constexpr std::uint16_t kPriority = 0x0024;
inline constexpr std::uint16_t kUseCandidate = 0x0025;
inline constexpr std::uint16_t kPadding = 0x0026;
inline constexpr std::uint16_t kResponsePort = 0x0027;
inline constexpr std::uint16_t kConnectionId = 0x002A;
inline constexpr std::uint16_t kAdditionalAddressFamily = 0x8000;
inline constexpr std::uint16_t kAddressErrorCode = 0x8001;
inline constexpr std::uint16_t kPasswordAlgorithms = 0x8002;
inline constexpr std::uint16_t kAlternateDomain = 0x8003;
inline constexpr std::uint16_t kIcmp = 0x8004;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kAlternateServer = 0x8023;
inline constexpr std::uint16_t kCacheTimeout = 0x8027;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kIceControlled = 0x8029;
inline constexpr std::uint16_t kIceControlling = 0x802A;
inline constexpr std::uint16_t kResponseOrigin = 0x802B;
inline constexpr std::uint16_t kOtherAddress = 0x802C;
inline constexpr std::uint16_t kThirdPartyAuthorization = 0x802E;
inline constexpr std::uint16_t kMobilityTicket = 0x8030;

constexpr bool comprehension_required(std::uint16_t type) noexcept { return type < 0x8000; }
}  // namespace attr

// PASSWORD-ALGORITHM numbers (RFC 8489 §18.5).
enum class PasswordAlgorithm : std::uint16_t { kMd5 = 0x0001, kSha256 = 0x0002 };

inline constexpr std::uint8_t kProtocolUdp = 17;
inline constexpr std::uint8_t kProtocolTcp = 6;

inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannel = 0x4FFF;
// RFC 5766 §11 allowed 0x4000-0x7FFF; RFC 8656 reserves 0x5000-0xFFFF (RFC 7983 demux).
// Some older clients still pick numbers up to 0x7FFF.
inline constexpr std::uint16_t kMaxChannelRfc5766 = 0x7FFF;

}  // namespace tern::protocol
