// signaling_route: the demo page at /, ICE servers at /api/ice-servers, 404 elsewhere.
#include "ice_servers.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>

#include "signaling/demo_page.hpp"
#include "tern/auth/keys.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::app {
namespace {

namespace json = boost::json;
constexpr std::chrono::seconds kTtl{3600};

bool token_ok(const config::Config& c, std::string_view authorization) {
  if (c.signaling_token.empty()) return false;  // off loopback a token is required
  const std::string expected = "Bearer " + c.signaling_token;
  return protocol::equal_constant_time(
      std::span(reinterpret_cast<const std::uint8_t*>(expected.data()), expected.size()),
      std::span(reinterpret_cast<const std::uint8_t*>(authorization.data()), authorization.size()));
}

struct IceUrls {
  json::array stun;  // stun: per UDP listener, for server-reflexive candidates
  json::array turn;  // turn:/turns: per listener
};

IceUrls urls(const net::Runtime& runtime, const config::Config& c) {
  IceUrls out;
  for (const auto& l : runtime.listeners()) {
    std::string host = l.address.to_string();  // "ip:port" or "[v6]:port"
    const std::string port = std::to_string(l.address.port);
    const bool wildcard = host.rfind("0.0.0.0:", 0) == 0 || host.rfind("[::]:", 0) == 0;
    if (!c.signaling_ice_host.empty()) {
      host = (c.signaling_ice_host.find(':') != std::string::npos ? "[" + c.signaling_ice_host + "]"
                                                                  : c.signaling_ice_host) +
             ":" + port;
    } else if (!c.relay.public_address.empty()) {
      host = c.relay.public_address + ":" + port;
    } else if (wildcard) {
      host = "127.0.0.1:" + port;
    }
    if (l.transport == core::Transport::kUdp) out.stun.push_back(json::value("stun:" + host));
    if (l.transport == core::Transport::kDtls) continue;  // browsers have no URL for DTLS
    const char* scheme = l.transport == core::Transport::kTls ? "turns:" : "turn:";
    const char* transport = l.transport == core::Transport::kUdp ? "udp" : "tcp";
    out.turn.push_back(json::value(std::string(scheme) + host + "?transport=" + transport));
  }
  return out;
}

// The value of query parameter `name` in `target` (no percent-decoding: the names we accept
// need none), or nullopt.
std::optional<std::string_view> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return std::nullopt;
}

// A name the backend passes (?user=NAME): 1-64 of A-Z a-z 0-9 . _ @ -, so it can neither
// forge an expiry nor smuggle a separator into the REST username.
bool valid_user(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '@' ||
           ch == '-';
  });
}

// A fresh name per visitor: 64 random bits in hex, so no two visitors share a quota or a
// session name in logs and `tern sessions`.
std::string random_user() {
  std::random_device device;  // getrandom(2) on Linux
  const std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) | device();
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(id));
  return text;
}

}  // namespace

signaling::HttpReply signaling_route(const net::Runtime& runtime, const LiveConfig& live,
                                     std::string_view target, std::string_view authorization,
                                     bool loopback) {
  const std::string_view path = target.substr(0, target.find('?'));
  const auto& c = live.config();
  if (path == "/" || path == "/index.html") {
    return {200, "text/html; charset=utf-8", signaling::demo_page()};
  }
  if (path != "/api/ice-servers") return {404, "text/plain; charset=utf-8", "not found\n"};
  if (!loopback && !token_ok(c, authorization)) {
    return {401, "application/json",
            R"({"error":"Authorization: Bearer <signaling.token> required"})"};
  }
  const auto& credentials = live.credentials();
  if (credentials.secrets.empty()) {
    return {503, "application/json", R"({"error":"no TURN REST secret is configured"})"};
  }
  std::string user;
  if (const auto asked = query_param(target, "user")) {
    if (!valid_user(*asked)) {
      return {400, "application/json",
              R"({"error":"user: 1-64 characters of A-Z a-z 0-9 . _ @ -"})"};
    }
    user = *asked;
  } else {
    user = random_user();
  }
  const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()) +
                      kTtl;
  const std::string username = std::to_string(expiry.count()) + ":" + user;
  const std::string password = auth::rest_password(credentials.secrets.front(), username);
  auto [stun, turn] = urls(runtime, c);
  if (!c.signaling_ice_urls.empty()) {  // the fleet's URLs instead of this node's
    stun.clear();
    turn.clear();
    for (const auto& u : c.signaling_ice_urls)
      (u.rfind("stun:", 0) == 0 ? stun : turn).push_back(json::value(u));
  }
  json::array servers;
  if (!stun.empty()) servers.push_back(json::object{{"urls", std::move(stun)}});
  if (!turn.empty()) {
    servers.push_back(
        json::object{{"urls", std::move(turn)}, {"username", username}, {"credential", password}});
  }
  json::object body{{"iceServers", std::move(servers)}, {"ttl", kTtl.count()}};
  return {200, "application/json", json::serialize(body)};
}

}  // namespace tern::app
