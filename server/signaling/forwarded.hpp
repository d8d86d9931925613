// The client a trusted reverse proxy names in X-Forwarded-For or Forwarded (RFC 7239).
#pragma once

#include <optional>
#include <string_view>

#include "tern/protocol/address.hpp"

namespace tern::signaling {

// The address the nearest proxy saw: the last entry of X-Forwarded-For ("IP", "IP:port",
// "[v6]:port"), or when that header is absent, the `for=` of Forwarded's last element. Port 0
// when none is given. nullopt when the header is absent, or its last entry is no IP address
// ("unknown", an obfuscated name, garbage): the caller refuses the request.
std::optional<protocol::TransportAddress> forwarded_client(std::string_view x_forwarded_for,
                                                           std::string_view forwarded);

}  // namespace tern::signaling
