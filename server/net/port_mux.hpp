// One TCP port for TURN over TCP and TLS and for the web endpoints over HTTP and HTTPS: each
// connection's first bytes, and a TLS ClientHello's ALPN, are peeked (never read) and the
// connection goes to a worker (TURN) or to the web server, which then reads them itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "tern/protocol/address.hpp"

namespace tern::net {

// Where a connection goes: TURN (plain or TLS) or the web server (plain or TLS). kTls: TLS
// that offers no ALPN name at all, which TURN clients and a few HTTPS ones send; it goes to TURN,
// whose first bytes after the handshake may still hand it to the web server.
enum class MuxRoute : std::uint8_t { kTurnTcp, kTurnTls, kHttp, kHttps, kTls };

struct MuxCounts {
  std::uint64_t routed[5]{};  // [MuxRoute]
  std::uint64_t refused = 0;  // neither TURN, TLS nor HTTP, silent past the timeout, or too many
  std::size_t looking = 0;    // connections not yet told apart
};

class PortMux {
 public:
  // Connections still being told apart at once; more are closed as they are accepted.
  static constexpr std::size_t kMaxLooking = 1024;

  // Gets the socket with nothing read from it yet; runs on the mux's io_context.
  using Sink = std::function<void(boost::asio::ip::tcp::socket, MuxRoute)>;
  // Connections from these start with a PROXY header, which is skipped when looking (and left
  // for the TURN side to read); HTTP behind one is refused.
  using TrustedProxy = std::function<bool(const protocol::TransportAddress&)>;

  // Takes ownership of a bound, listening TCP socket. `timeout`: how long a connection may take
  // to send enough bytes to be told apart.
  PortMux(boost::asio::io_context& io, int fd, Sink sink, TrustedProxy trusted,
          std::chrono::seconds timeout);
  void start();
  void stop();
  const protocol::TransportAddress& local() const noexcept { return local_; }
  const MuxCounts& counts() const noexcept { return *counts_; }

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;  // accepting again after the process ran out of descriptors
  std::shared_ptr<const Sink> sink_;
  TrustedProxy trusted_;
  std::chrono::seconds timeout_;
  std::shared_ptr<MuxCounts> counts_ = std::make_shared<MuxCounts>();
  protocol::TransportAddress local_;
};

// The route the first bytes of a connection (after any PROXY header) call for: TLS with
// `stun.turn` offered, or with ALPN names none of which is for the web, is TURN; TLS offering
// `http/1.1` or `h2` (and not `stun.turn`) is HTTPS; TLS with no ALPN is kTls; a STUN header is
// TURN over TCP; a request line is HTTP.
struct MuxDecision {
  bool need_more = false;
  bool refused = false;
  MuxRoute route = MuxRoute::kTurnTcp;
};
MuxDecision decide_route(std::span<const std::uint8_t> first);

}  // namespace tern::net
