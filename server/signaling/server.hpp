// The embedded signaling relay: HTTP (demo page, /api/ice-servers) and WebSocket rooms at /ws.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "signaling/hub.hpp"
#include "tern/protocol/address.hpp"

struct ssl_st;  // OpenSSL's SSL

namespace boost::asio::ssl {
class context;
}

namespace tern::signaling {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// target (path and query), the Authorization header, and whether the peer is on loopback.
using HttpRoute = std::function<HttpReply(std::string_view target, std::string_view authorization,
                                          bool loopback)>;

struct SignalingOptions {
  std::string listen;  // "IP:port"
  std::size_t max_message = 64 * 1024;
  HubLimits limits{};
  std::size_t max_connections = 1000;          // HTTP and WebSocket connections open at once
  std::size_t connections_per_source_ip = 50;  // of those, from one address; 0 = no limit
  // Bytes queued for a WebSocket client that does not read before it is disconnected.
  std::size_t max_queued_bytes = 1 << 20;
  // Reverse proxies whose X-Forwarded-For / Forwarded name the client (connections.
  // trusted_proxies): their connections are held to the per-source limit of the client each
  // request names, and that client decides what loopback may do. Empty = none.
  std::function<bool(const protocol::TransportAddress&)> trusted_proxy{};
};

class SignalingServer {
 public:
  // Binds at once (throws std::runtime_error naming the address on failure); serves on `io`.
  SignalingServer(boost::asio::io_context& io, SignalingOptions options, HttpRoute route);
  ~SignalingServer();
  const protocol::TransportAddress& local() const noexcept;
  // Serves a connection another listener accepted (a shared port) with nothing read from it
  // yet: HTTPS with `tls`, else HTTP. Held to the same connection limits as this listener's.
  // With `session` (owned from here on) the TLS handshake is done already and `read` is the
  // plaintext read from it so far, the start of the first request.
  void adopt(boost::asio::ip::tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls,
             ssl_st* session = nullptr, std::span<const std::uint8_t> read = {});

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace tern::signaling
