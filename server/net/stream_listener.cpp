// Accept loop: enforce the connection limit, then pin the connection to this worker.
#include "stream_listener.hpp"

#include <boost/asio/ssl.hpp>

#include "sockaddr.hpp"

namespace tern::net {

StreamListener::StreamListener(boost::asio::io_context& io, int fd, core::Server& core,
                               Router& router, boost::asio::ssl::context* tls,
                               ConnectionBudget& budget, std::chrono::seconds idle_timeout)
    : io_(io),
      acceptor_(io),
      core_(core),
      router_(router),
      tls_(tls),
      budget_(budget),
      idle_timeout_(idle_timeout) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
  local_ = from_sockaddr(reinterpret_cast<sockaddr*>(&local));
  acceptor_.assign(local.ss_family == AF_INET6 ? boost::asio::ip::tcp::v6()
                                               : boost::asio::ip::tcp::v4(),
                   fd);
}

void StreamListener::start() { accept(); }

void StreamListener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void StreamListener::accept() {
  acceptor_.async_accept(io_, [this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) admit(std::move(s));
    accept();
  });
}

void StreamListener::admit(boost::asio::ip::tcp::socket socket) {
  if (budget_.active.fetch_add(1, std::memory_order_relaxed) >= budget_.max) {
    budget_.active.fetch_sub(1, std::memory_order_relaxed);
    return;  // over the limit: the socket closes as it goes out of scope
  }
  boost::system::error_code ec;
  socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  const auto remote = socket.remote_endpoint(ec);
  if (ec) {
    budget_.active.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  core::FiveTuple flow{from_sockaddr(remote.data()), local_,
                       tls_ != nullptr ? core::Transport::kTls : core::Transport::kTcp};
  if (tls_ != nullptr) {
    std::make_shared<StreamConnection<TlsStream>>(TlsStream(std::move(socket), *tls_), flow, core_, router_,
                                                  budget_, idle_timeout_)
        ->start();
  } else {
    std::make_shared<StreamConnection<TcpStream>>(std::move(socket), flow, core_, router_, budget_,
                                                  idle_timeout_)
        ->start();
  }
}

}  // namespace tern::net
