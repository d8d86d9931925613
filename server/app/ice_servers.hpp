// GET /api/ice-servers and the demo page: the signaling listener's HTTP routes.
#pragma once

#include <string_view>

#include "live_config.hpp"
#include "net/runtime.hpp"
#include "signaling/server.hpp"

namespace tern::app {

// RTCConfiguration JSON with TURN REST credentials minted from the first secret (valid for
// `ttl`), URLs from the listeners and relay.public_address. Off loopback it needs
// "Authorization: Bearer <signaling.token>".
signaling::HttpReply signaling_route(const net::Runtime& runtime, const LiveConfig& live,
                                     std::string_view target, std::string_view authorization,
                                     bool loopback);

}  // namespace tern::app
