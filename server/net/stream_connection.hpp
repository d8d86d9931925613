// One TCP or TLS client connection, pinned to a worker: an optional PROXY protocol header, then
// frames in, core, write queue out.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include "connection_budget.hpp"
#include "options.hpp"
#include "router.hpp"
#include "tern/core/outbox.hpp"
#include "tern/core/server.hpp"
#include "tls.hpp"

namespace tern::net {

// A shared port's TLS client that offered no ALPN name and whose first bytes after the
// handshake are an HTTP request: its descriptor, TLS session and the plaintext read so far go to
// the web side. Called on the connection's worker.
using WebFallback = std::function<void(int fd, SslSession session, std::vector<std::uint8_t> read)>;

template <class Stream>
class StreamConnection final : public std::enable_shared_from_this<StreamConnection<Stream>>,
                               public ClientSink,
                               private core::Outbox {
 public:
  // `proxied`: the connection comes from a trusted proxy and must start with a PROXY header,
  // whose source address then stands for the client everywhere.
  StreamConnection(Stream stream, core::FiveTuple flow, core::Server& core, Router& router,
                   ConnectionBudget& budget, StreamTimeouts timeouts, bool proxied = false,
                   WebFallback web = {});
  ~StreamConnection() override;
  void start();
  // Data from a peer for this client (ChannelData or Data indication).
  void send_frame(std::span<const std::uint8_t> bytes) override { to_client(flow_, bytes); }

 private:
  void to_peer(core::RelayId relay, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes) override {
    router_.to_peer(relay, peer, bytes);
  }
  void read_proxy_header();
  void adopt_proxy_header();
  void begin();
  void handshake();
  void read();
  bool consume();
  // True once the first bytes decided (an HTTP request leaves with web_); false: need more.
  bool looked_for_web();
  void hand_to_web();
  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override;
  void write();
  void arm_idle_timer();
  void arm_handshake_timer();
  void close();
  // RFC 6062 §5.4: after a successful ConnectionBind the connection carries raw bytes to and
  // from the peer socket `bound.fd`; `rest` arrived after the ConnectionBind.
  void become_data_connection(TcpRelays::Bound bound, std::span<const std::uint8_t> rest);
  void client_to_peer(std::size_t ready);
  void peer_to_client();
  std::size_t queued() const noexcept { return pending_.size() + writing_.size(); }

  Stream stream_;
  core::FiveTuple flow_;
  protocol::TransportAddress counted_as_;  // whose connection the budget counts this as
  core::Server& core_;
  Router& router_;
  ConnectionBudget& budget_;
  StreamTimeouts timeouts_;
  boost::asio::steady_timer idle_;
  std::chrono::steady_clock::time_point last_frame_;  // when the last whole frame arrived
  std::vector<std::uint8_t> in_;                      // grows to the largest frame seen
  std::size_t used_ = 0;
  std::vector<std::uint8_t> pending_;  // frames queued since the last write began
  std::vector<std::uint8_t> writing_;  // what the write in flight sends
  bool write_scheduled_ = false;       // a write is in flight or posted
  bool proxied_ = false;               // a PROXY header comes first
  bool transferred_ = false;           // counted_as_ is the client a PROXY header named
  bool started_ = false;               // frames have begun (the router knows this connection)
  bool first_bytes_checked_ = false;   // an unproxied stream's first bytes are no PROXY header
  bool closed_ = false;
  WebFallback web_;  // set while the first bytes may still send this connection to the web
  // A data connection's peer side (RFC 6062), and what was last read from it.
  std::unique_ptr<boost::asio::ip::tcp::socket> peer_;
  core::ConnectionId data_id_ = 0;
  std::vector<std::uint8_t> from_peer_;
  bool peer_paused_ = false;  // the client is slow: the peer is read again once it catches up
  bool peer_done_ = false;    // the peer closed: close once what it sent is written
};

using TcpStream = boost::asio::ip::tcp::socket;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

}  // namespace tern::net
