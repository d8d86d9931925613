// Changes the admin CLI makes to auth.users_file and auth.secrets_file, written atomically.
#pragma once

#include <string>
#include <vector>

namespace tern::app {

// Replaces (or adds) NAME's line in a users file; `line` is "NAME md5=... sha256=...".
// Returns an error message, or empty on success.
std::string upsert_user_line(const std::string& file, const std::string& name,
                             const std::string& line);
// Removes NAME's line; error when NAME is not in the file.
std::string remove_user_line(const std::string& file, const std::string& name);
// Rewrites a secrets file with `secrets`, one per line.
std::string write_secrets(const std::string& file, const std::vector<std::string>& secrets);
std::vector<std::string> read_lines(const std::string& file);

}  // namespace tern::app
