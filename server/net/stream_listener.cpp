// Accept loop: enforce the connection limit, shed what the fd limit refuses, then pin the
// connection to this worker.
#include "stream_listener.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>

#include "sockaddr.hpp"
#include "sockets.hpp"

namespace tern::net {

StreamListener::StreamListener(boost::asio::io_context& io, int fd, core::Server& core,
                               Router& router, boost::asio::ssl::context* tls,
                               ConnectionBudget& budget, StreamTimeouts timeouts)
    : io_(io),
      acceptor_(io),
      core_(core),
      router_(router),
      tls_(tls),
      budget_(budget),
      timeouts_(timeouts),
      retry_(io),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
  local_ = local_address(fd);
  acceptor_.assign(local_.family == protocol::Family::kIPv6 ? boost::asio::ip::tcp::v6()
                                                            : boost::asio::ip::tcp::v4(),
                   fd);
}

StreamListener::~StreamListener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void StreamListener::start() {
  accept();
}

void StreamListener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

void StreamListener::accept() {
  acceptor_.async_accept(io_, [this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      admit(std::move(s));
      return accept();
    }
    if (out_of_descriptors(ec)) {
      // Out of file descriptors: pending connections would wake this loop at once, forever.
      // Shed them, then give the process a moment before accepting again.
      shed_pending();
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](boost::system::error_code wait) {
        if (!wait) accept();
      });
      return;
    }
    accept();  // the client went away before we accepted it (ECONNABORTED and the like)
  });
}

void StreamListener::admit(boost::asio::ip::tcp::socket socket) {
  admit_stream(std::move(socket), local_, core_, router_, tls_, budget_, timeouts_);
}

void admit_stream(boost::asio::ip::tcp::socket socket, const protocol::TransportAddress& local,
                  core::Server& core, Router& router, boost::asio::ssl::context* tls,
                  ConnectionBudget& budget, StreamTimeouts timeouts, WebFallback web) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already
  core::FiveTuple flow{from_sockaddr(remote.data()), local,
                       tls != nullptr ? core::Transport::kTls : core::Transport::kTcp};
  // A trusted proxy's connections count against the per-source limit of the client each one's
  // PROXY header names, not the proxy's.
  const bool proxied = budget.trusted_proxy(flow.client);
  // Over the process-wide or the per-source limit: the socket closes as it goes out of scope.
  if (!budget.try_acquire(flow.client, !proxied)) return;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  if (tls != nullptr) {
    std::make_shared<StreamConnection<TlsStream>>(TlsStream(std::move(socket), *tls), flow, core,
                                                  router, budget, timeouts, proxied,
                                                  proxied ? WebFallback{} : std::move(web))
        ->start();
  } else {
    std::make_shared<StreamConnection<TcpStream>>(std::move(socket), flow, core, router, budget,
                                                  timeouts, proxied)
        ->start();
  }
}

// Accepts pending connections (up to 64) with the spare descriptor and closes each at once, so
// that their clients learn now, not after their own timeouts.
void StreamListener::shed_pending() {
  if (spare_fd_ < 0) return;
  ::close(spare_fd_);
  std::uint64_t shed = 0;
  for (; shed < 64; ++shed) {
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) break;
    ::close(fd);
  }
  budget_.count_refusals(Refusal::kDescriptors, shed);
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace tern::net
