// The admin subcommands of the tern binary: a client of the admin socket.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace tern::app {

// One admin request as the command line gave it.
struct AdminRequest {
  std::string command;  // "status", "users.add", "sessions.kill", ...
  std::vector<std::pair<std::string, std::string>> fields;  // sent as JSON strings
  std::string stdin_field;  // read one line from stdin into this field ("password", "secret")
  std::string socket;       // --socket; else $TERN_ADMIN_SOCKET, else --config's admin.socket
  std::string config;       // --config
  bool as_json = false;     // --json
};

// Sends `request` to a running tern and prints the answer; returns the exit code.
int run_admin_command(const AdminRequest& request);

}  // namespace tern::app
