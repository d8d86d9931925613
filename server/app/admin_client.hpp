// The admin subcommands of the tern binary: a client of the admin socket.
#pragma once

#include <string>
#include <vector>

namespace tern::app {

// True when `command` is one of the admin subcommands.
bool is_admin_command(const std::string& command);
// Runs `tern COMMAND ARGS...` against a running tern; returns the exit code.
int run_admin_command(const std::vector<std::string>& args);

}  // namespace tern::app
