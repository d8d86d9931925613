// Which comprehension-required attribute types tern understands (RFC 8489 §6.3.1, §14).
#include <algorithm>
#include <array>

#include "handlers.hpp"

namespace tern::core {
namespace {

namespace a = protocol::attr;
constexpr std::array<std::uint16_t, 27> kKnownRequired = {
    a::kMappedAddress,  a::kChangeRequest,       a::kUsername,
    a::kMessageIntegrity, a::kErrorCode,         a::kUnknownAttributes,
    a::kChannelNumber,  a::kLifetime,            a::kXorPeerAddress,
    a::kData,           a::kRealm,               a::kNonce,
    a::kXorRelayedAddress, a::kRequestedAddressFamily, a::kEvenPort,
    a::kRequestedTransport, a::kDontFragment,    a::kMessageIntegritySha256,
    a::kPasswordAlgorithm, a::kUserhash,         a::kXorMappedAddress,
    a::kReservationToken, a::kPriority,          a::kUseCandidate,
    a::kPadding,        a::kResponsePort,        a::kConnectionId,
};

}  // namespace

std::size_t unknown_required_attributes(const protocol::MessageView& m,
                                        std::span<std::uint16_t> out) noexcept {
  std::size_t n = 0;
  for (const auto& attribute : m.attributes()) {
    const std::uint16_t t = attribute.type;
    if (!a::comprehension_required(t)) continue;
    if (std::find(kKnownRequired.begin(), kKnownRequired.end(), t) != kKnownRequired.end()) continue;
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), t) !=
        out.begin() + static_cast<std::ptrdiff_t>(n)) {
      continue;
    }
    if (n < out.size()) out[n++] = t;
  }
  return n;
}

}  // namespace tern::core
