// Admin CLI: turns arguments into one JSON request, sends it over the Unix socket, prints.
#include "admin_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>

#include "config/loader.hpp"

namespace tern::app {
namespace {

namespace json = boost::json;

struct Parsed {
  json::object request;
  std::string socket;
  std::string config;
  bool as_json = false;
  std::string error;
};

std::string read_stdin_line(const char* what) {
  std::string line;
  if (!std::getline(std::cin, line)) return {};
  if (!line.empty() && line.back() == '\r') line.pop_back();
  (void)what;
  return line;
}

Parsed parse(const std::vector<std::string>& args) {
  Parsed p;
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--json") {
      p.as_json = true;
    } else if (a.rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) {
        p.error = a + " needs a value";
        return p;
      }
      options[a.substr(2)] = args[++i];
    } else {
      words.push_back(a);
    }
  }
  p.socket = options["socket"];
  p.config = options["config"];
  options.erase("socket");
  options.erase("config");
  std::string command = words.empty() ? "" : words[0];
  const std::string sub = words.size() > 1 ? words[1] : "";
  if (command == "users" || command == "secrets" || command == "sessions") {
    command += "." + sub;
    if ((command == "users.add" || command == "users.remove") && words.size() > 2) {
      p.request["name"] = words[2];
    }
    if ((command == "secrets.remove" || command == "secrets.promote") && words.size() > 2) {
      p.request["fingerprint"] = words[2];
    }
    if (command == "users.add") p.request["password"] = read_stdin_line("password");
    if (command == "secrets.add") p.request["secret"] = read_stdin_line("secret");
  }
  p.request["command"] = command;
  for (const auto& [k, v] : options) p.request[k] = v;
  return p;
}

std::string socket_path(const Parsed& p) {
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
  (void)::write(fd, line.data(), line.size());
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  return response;
}

void print_human(const std::string& command, const json::object& r) {
  if (command == "sessions.list") {
    for (const auto& s : r.at("sessions").as_array()) {
      const auto& o = s.as_object();
      std::cout << o.at("id").as_string() << "  " << o.at("user").as_string() << "  "
                << o.at("transport").as_string() << " " << o.at("client").as_string() << "  expires in "
                << o.at("expires_in_seconds").as_int64() << "s\n";
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
      std::cout << std::string(k) << ": " << (v.is_string() ? std::string(v.as_string()) : json::serialize(v)) << "\n";
    }
  }
}

}  // namespace

bool is_admin_command(const std::string& command) {
  return command == "status" || command == "reload" || command == "drain" ||
         command == "users" || command == "secrets" || command == "sessions" ||
         command == "credentials";
}

int run_admin_command(const std::vector<std::string>& args) {
  Parsed p = parse(args);
  if (!p.error.empty()) {
    std::cerr << "tern: " << p.error << "\n";
    return 2;
  }
  const std::string response = exchange(socket_path(p), json::serialize(p.request));
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
  if (!p.as_json) print_human(std::string(p.request.at("command").as_string()), r);
  return 0;
}

}  // namespace tern::app
