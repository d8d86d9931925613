// Which comprehension-required attribute types tern understands (RFC 8489 §6.3.1, §14).
#include <algorithm>
#include <array>

#include "handlers.hpp"

namespace tern::core {
namespace {

namespace a = protocol::attr;
constexpr std::array<std::uint16_t, 25> kKnownRequired = {
    a::kMappedAddress,
    a::kUsername,
    a::kMessageIntegrity,
    a::kErrorCode,
    a::kUnknownAttributes,
    a::kChannelNumber,
    a::kLifetime,
    a::kXorPeerAddress,
    a::kData,
    a::kRealm,
    a::kNonce,
    a::kXorRelayedAddress,
    a::kRequestedAddressFamily,
    a::kEvenPort,
    a::kRequestedTransport,
    a::kDontFragment,
    a::kMessageIntegritySha256,
    a::kPasswordAlgorithm,
    a::kUserhash,
    a::kXorMappedAddress,
    a::kReservationToken,
    a::kPriority,
    a::kUseCandidate,
    a::kConnectionId,
    a::kAccessToken,  // authenticate() answers 420 for it itself when tokens are off
};

// RFC 5780's: known only while NAT behaviour discovery is on (RFC 5780 §6: a server that
// cannot change its address answers CHANGE-REQUEST with 420).
constexpr std::array<std::uint16_t, 3> kNatDiscoveryRequired = {a::kChangeRequest, a::kPadding,
                                                                a::kResponsePort};

template <std::size_t N>
bool listed(const std::array<std::uint16_t, N>& list, std::uint16_t t) {
  return std::find(list.begin(), list.end(), t) != list.end();
}

}  // namespace

std::size_t unknown_required_attributes(const protocol::MessageView& m,
                                        std::span<std::uint16_t> out, bool nat_discovery) noexcept {
  std::size_t n = 0;
  for (const auto& attribute : m.attributes()) {
    const std::uint16_t t = attribute.type;
    if (!a::comprehension_required(t) || listed(kKnownRequired, t)) continue;
    if (nat_discovery && listed(kNatDiscoveryRequired, t)) continue;
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n), t) !=
        out.begin() + static_cast<std::ptrdiff_t>(n)) {
      continue;
    }
    if (n < out.size()) out[n++] = t;
  }
  return n;
}

}  // namespace tern::core
