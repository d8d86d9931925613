// Admin CLI: turns arguments into one JSON request, sends it over the Unix socket, prints.
#include "admin_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "config/loader.hpp"

namespace tern::app {
namespace {

namespace json = boost::json;

std::string read_stdin_line() {
  std::string line;
  if (!std::getline(std::cin, line)) return {};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string socket_path(const AdminRequest& p) {
  if (!p.socket.empty()) return p.socket;
  if (const char* env = std::getenv("TERN_ADMIN_SOCKET"); env && *env) return env;
  if (!p.config.empty()) {
    auto loaded = config::load_config_file(p.config);
    if (loaded.config) return loaded.config->admin_socket;
  }
  return config::Config{}.admin_socket;
}

// Sends one request line; the whole response, or an error message starting with "!".
std::string exchange(const std::string& path, const std::string& request) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return "!socket path too long: " + path;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("!socket: ") + std::strerror(errno);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return "!cannot reach tern at " + path + ": " + error + " (is it running? see --socket)";
  }
  const std::string line = request + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    ::close(fd);
    return "!cannot send the request to tern at " + path;
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

void print_human(const std::string& command, const json::object& r) {
  if (command == "sessions.list") {
    for (const auto& s : r.at("sessions").as_array()) {
      const auto& o = s.as_object();
      std::cout << o.at("id").as_string() << "  " << o.at("user").as_string() << "  "
                << o.at("transport").as_string() << " " << o.at("client").as_string()
                << "  expires in " << o.at("expires_in_seconds").as_int64() << "s\n";
    }
  } else if (command == "users.list") {
    for (const auto& u : r.at("users").as_array()) std::cout << u.as_string() << "\n";
  } else if (command == "secrets.list") {
    for (const auto& s : r.at("secrets").as_array()) {
      std::cout << s.at("fingerprint").as_string() << (s.at("signs").as_bool() ? "  (signs)" : "")
                << "\n";
    }
  } else if (command == "credentials") {
    std::cout << "username: " << r.at("username").as_string() << "\n"
              << "credential: " << r.at("credential").as_string() << "\n"
              << "iceServers: " << json::serialize(r.at("iceServers")) << "\n";
  } else {
    for (const auto& [k, v] : r) {
      if (k == "ok") continue;
      std::cout << std::string(k) << ": "
                << (v.is_string() ? std::string(v.as_string()) : json::serialize(v)) << "\n";
    }
  }
}

}  // namespace

int run_admin_command(const AdminRequest& p) {
  json::object request;
  request["command"] = p.command;
  for (const auto& [k, v] : p.fields) request[k] = v;
  if (!p.stdin_field.empty()) request[p.stdin_field] = read_stdin_line();
  const std::string response = exchange(socket_path(p), json::serialize(request));
  if (!response.empty() && response[0] == '!') {
    std::cerr << "tern: " << response.substr(1) << "\n";
    return 1;
  }
  boost::system::error_code ec;
  json::value v = json::parse(response, ec);
  if (ec || !v.is_object()) {
    std::cerr << "tern: unexpected answer from the server\n";
    return 1;
  }
  const auto& r = v.as_object();
  if (p.as_json) std::cout << response;
  if (!r.at("ok").as_bool()) {
    if (!p.as_json) std::cerr << "tern: " << r.at("error").as_string() << "\n";
    return 1;
  }
  if (!p.as_json) print_human(p.command, r);
  return 0;
}

}  // namespace tern::app
