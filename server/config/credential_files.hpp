// Users and TURN REST secrets from the config, from auth.*_file and from auth.*_env, merged.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace tern::config {

struct Credentials {
  std::vector<User> users;
  std::vector<std::string> secrets;  // config order, then file, then environment
  std::vector<std::string> errors;   // "file:line: message"
};

// Users file / variable: one user per line, `NAME md5=HEX [sha256=HEX]` or
// `NAME password=PLAIN TEXT`; '#' starts a comment. Secrets: one per line.
Credentials load_credentials(const Config& config);

std::vector<User> parse_users(const std::string& text, const std::string& source,
                              std::vector<std::string>& errors);
std::vector<std::string> parse_secrets(const std::string& text);

// The line `tern key` prints and users files hold: NAME md5=HEX sha256=HEX.
std::string user_key_line(const std::string& name, const std::string& realm,
                          const std::string& password);

}  // namespace tern::config
