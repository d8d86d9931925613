// Parsing of users and secrets files (and the same text from environment variables).
#include "config/credential_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/atomic_file.hpp"
#include "config/loader.hpp"
#include "tern/auth/keys.hpp"

namespace tern::config {
namespace {

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace

std::vector<User> parse_users(const std::string& text, const std::string& source,
                              std::vector<std::string>& errors) {
  std::vector<User> users;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = source + ":" + std::to_string(number) + ": ";
    std::istringstream fields(line);
    User u;
    fields >> u.name;
    std::string field;
    bool ok = true;
    while (ok && fields >> field) {
      if (field.rfind("md5=", 0) == 0) {
        u.key = field.substr(4);
      } else if (field.rfind("sha256=", 0) == 0) {
        u.sha256_key = field.substr(7);
      } else if (field.rfind("password=", 0) == 0) {
        const auto at = line.find("password=");
        u.password = line.substr(at + 9);
        break;
      } else {
        errors.push_back(where + "expected md5=HEX, sha256=HEX or password=TEXT, got '" + field +
                         "'");
        ok = false;
      }
    }
    if (!ok) continue;
    if (u.key.empty() == u.password.empty()) {
      errors.push_back(where + "user '" + u.name + "' needs md5=HEX or password=TEXT");
      continue;
    }
    users.push_back(u);
  }
  return users;
}

std::vector<std::string> parse_secrets(const std::string& text) {
  std::vector<std::string> secrets;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty() && line[0] != '#') secrets.push_back(line);
  }
  return secrets;
}

Credentials load_credentials(const Config& c) {
  Credentials out;
  out.users = c.auth.users;
  out.secrets = c.auth.secrets;
  auto add_users = [&](const std::string& text, const std::string& source) {
    auto more = parse_users(text, source, out.errors);
    out.users.insert(out.users.end(), more.begin(), more.end());
  };
  auto add_secrets = [&](const std::string& text) {
    auto more = parse_secrets(text);
    out.secrets.insert(out.secrets.end(), more.begin(), more.end());
  };
  std::string text;
  if (!c.auth.users_file.empty()) {
    if (read_file(c.auth.users_file, text)) {
      add_users(text, c.auth.users_file);
    } else {
      out.errors.push_back(c.auth.users_file + ": cannot read auth.users_file");
    }
  }
  if (!c.auth.secrets_file.empty()) {
    if (read_file(c.auth.secrets_file, text)) {
      add_secrets(text);
    } else {
      out.errors.push_back(c.auth.secrets_file + ": cannot read auth.secrets_file");
    }
  }
  if (c.auth.generated_secret) {
    const std::string file = resolve_state_dir(c) + "/turn-secret";
    if (!read_file(file, text)) {
      std::error_code ec;
      std::filesystem::create_directories(resolve_state_dir(c), ec);
      std::ifstream random("/dev/urandom", std::ios::binary);
      std::string bytes(32, '\0');
      random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      text = auth::to_hex(
          std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      // Never readable by others, never half-written; two servers starting at once keep one.
      const auto error = write_file_atomically(file, text + "\n", IfExists::kKeep);
      if (!error.empty()) out.errors.push_back(error);
    }
    if (read_file(file, text)) {
      add_secrets(text);
    } else {
      out.errors.push_back(file + ": cannot create the generated TURN REST secret");
    }
  }
  if (!c.auth.users_env.empty()) {
    if (const char* v = std::getenv(c.auth.users_env.c_str())) {
      add_users(v, "$" + c.auth.users_env);
    } else {
      out.errors.push_back("auth.users_env: $" + c.auth.users_env + " is not set");
    }
  }
  if (!c.auth.secrets_env.empty()) {
    if (const char* v = std::getenv(c.auth.secrets_env.c_str())) {
      add_secrets(v);
    } else {
      out.errors.push_back("auth.secrets_env: $" + c.auth.secrets_env + " is not set");
    }
  }
  return out;
}

std::string user_key_line(const std::string& name, const std::string& realm,
                          const std::string& password) {
  return name + " md5=" + auth::to_hex(auth::md5_key(name, realm, password)) +
         " sha256=" + auth::to_hex(auth::sha256_key(name, realm, password));
}

}  // namespace tern::config
