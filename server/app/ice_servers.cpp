// signaling_route: the demo page at /, ICE servers at /api/ice-servers, 404 elsewhere.
#include "ice_servers.hpp"

#include <boost/json.hpp>
#include <chrono>

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

json::array urls(const net::Runtime& runtime, const config::Config& c) {
  json::array out;
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
    const char* scheme = l.transport == core::Transport::kTls ? "turns:" : "turn:";
    const char* transport = l.transport == core::Transport::kUdp ? "udp" : "tcp";
    out.push_back(json::value(std::string(scheme) + host + "?transport=" + transport));
  }
  return out;
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
    return {401, "application/json", R"({"error":"Authorization: Bearer <signaling.token> required"})"};
  }
  const auto& credentials = live.credentials();
  if (credentials.secrets.empty()) {
    return {503, "application/json", R"({"error":"no TURN REST secret is configured"})"};
  }
  const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()) + kTtl;
  const std::string username = std::to_string(expiry.count()) + ":demo";
  const std::string password = auth::rest_password(credentials.secrets.front(), username);
  json::object body{{"iceServers", json::array{json::object{{"urls", urls(runtime, c)},
                                                             {"username", username},
                                                             {"credential", password}}}},
                    {"ttl", kTtl.count()}};
  return {200, "application/json", json::serialize(body)};
}

}  // namespace tern::app
