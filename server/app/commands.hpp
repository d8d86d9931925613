// The binary's subcommands; each returns the process exit code.
#pragma once

#include <string>

namespace tern::app {

int print_version();
int serve(const std::string& config_path);  // empty = embedded default
int check_config(const std::string& path);
int print_default_config();
// Reads a password from stdin and prints "USER md5=HEX sha256=HEX" for a users file.
int print_key(const std::string& user, const std::string& realm);

}  // namespace tern::app
