// The admin API behind `tern users|secrets|credentials|sessions|reload|drain|status`.
#pragma once

#include <string>

#include "live_config.hpp"
#include "net/log.hpp"
#include "net/runtime.hpp"

namespace tern::app {

struct AdminContext {
  net::Runtime& runtime;
  LiveConfig& live;
  net::Logger& logger;
};

// One JSON request object in, one JSON response object out ({"ok": false, "error": ...} on
// failure). Runs on the main thread.
std::string handle_admin_request(const std::string& request, AdminContext& ctx);

}  // namespace tern::app
