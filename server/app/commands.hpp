// The binary's subcommands; each returns the process exit code.
#pragma once

#include <string>

namespace tern::app {

int print_version();
int serve(const std::string& config_path);  // empty = embedded default
int check_config(const std::string& path);
int print_default_config();

}  // namespace tern::app
