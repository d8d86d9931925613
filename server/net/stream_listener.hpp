// One worker's TCP acceptor (SO_REUSEPORT) for the TCP or TLS transport.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "stream_connection.hpp"

namespace tern::net {

// Starts a connection for an accepted socket on the calling worker: the connection limits, then
// a StreamConnection (TLS when `tls` is set). A socket a limit refuses is closed. `web`: a TLS
// connection's first bytes may send it to the web side (shared ports, no ALPN offered).
void admit_stream(boost::asio::ip::tcp::socket socket, const protocol::TransportAddress& local,
                  core::Server& core, Router& router, boost::asio::ssl::context* tls,
                  ConnectionBudget& budget, StreamTimeouts timeouts, WebFallback web = {});

class StreamListener {
 public:
  // `tls` is null for plain TCP. Takes ownership of a bound, listening socket.
  StreamListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router,
                 boost::asio::ssl::context* tls, ConnectionBudget& budget, StreamTimeouts timeouts);
  ~StreamListener();
  StreamListener(const StreamListener&) = delete;
  StreamListener& operator=(const StreamListener&) = delete;
  void start();
  void stop();
  // New handshakes use `tls` from now on (call on this listener's worker thread).
  void set_tls(boost::asio::ssl::context* tls) { tls_ = tls; }
  const protocol::TransportAddress& local() const noexcept { return local_; }
  bool is_tls() const noexcept { return tls_ != nullptr; }

 private:
  void accept();
  void admit(boost::asio::ip::tcp::socket socket);
  void shed_pending();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  core::Server& core_;
  Router& router_;
  boost::asio::ssl::context* tls_;
  ConnectionBudget& budget_;
  StreamTimeouts timeouts_;
  protocol::TransportAddress local_;
  boost::asio::steady_timer retry_;
  int spare_fd_ = -1;  // given up to accept and close one connection when none are left
};

}  // namespace tern::net
