// PortMux: accept, peek with MSG_PEEK until the first bytes decide, hand the socket on.
#include "port_mux.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <string>
#include <vector>

#include "sockaddr.hpp"
#include "sockets.hpp"
#include "tern/protocol/first_bytes.hpp"
#include "tern/protocol/proxy_header.hpp"

namespace tern::net {
namespace {

using tcp = boost::asio::ip::tcp;
constexpr auto kRepeek = std::chrono::milliseconds(5);  // while a ClientHello is incomplete
constexpr std::size_t kPeekBytes = protocol::kProxyMaxSize + protocol::kMaxClientHelloBytes;

bool offers(const std::vector<std::string>& alpn, std::string_view name) {
  return std::find(alpn.begin(), alpn.end(), name) != alpn.end();
}

// One accepted connection until its route is known.
class Sniff : public std::enable_shared_from_this<Sniff> {
 public:
  Sniff(tcp::socket socket, std::shared_ptr<const PortMux::Sink> sink,
        std::shared_ptr<MuxCounts> counts, bool proxied, std::chrono::seconds timeout)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        repeek_(socket_.get_executor()),
        sink_(std::move(sink)),
        counts_(std::move(counts)),
        proxied_(proxied),
        timeout_(timeout) {
    ++counts_->looking;
  }
  ~Sniff() { --counts_->looking; }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->done_) self->refuse();
    });
    wait();
  }

 private:
  void wait() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](auto ec) {
      if (ec || self->done_) return;
      self->look();
    });
  }

  void look() {
    buffer_.resize(kPeekBytes);
    const ssize_t n =
        ::recv(socket_.native_handle(), buffer_.data(), buffer_.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return refuse();
    if (n < 0) return wait();
    std::span<const std::uint8_t> seen(buffer_.data(), static_cast<std::size_t>(n));
    if (proxied_) {
      const auto missing = protocol::proxy_header_missing(seen);
      if (!missing) return refuse();
      if (*missing > 0) return again();
      const auto header = protocol::parse_proxy_header(seen);
      if (!header) return refuse();
      seen = seen.subspan(header->size);
    }
    MuxDecision d = decide_route(seen);
    if (d.refused) return refuse();
    if (d.need_more) return again();
    // Behind a proxy only TURN is served: the web server reads no PROXY header.
    if (proxied_ && (d.route == MuxRoute::kHttp || d.route == MuxRoute::kHttps)) return refuse();
    if (proxied_ && d.route == MuxRoute::kTls) d.route = MuxRoute::kTurnTls;
    done_ = true;
    deadline_.cancel();
    ++counts_->routed[static_cast<std::size_t>(d.route)];
    (*sink_)(std::move(socket_), d.route);
  }

  // The bytes so far are readable at once but not enough: look again a little later rather
  // than be woken at once for the same bytes.
  void again() {
    repeek_.expires_after(kRepeek);
    repeek_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->done_) self->look();
    });
  }

  void refuse() {
    if (done_) return;
    done_ = true;
    ++counts_->refused;
    deadline_.cancel();
    repeek_.cancel();
    // Read what was only peeked so far: closing with unread bytes would reset the connection
    // instead of ending it.
    std::array<char, 4096> sink{};
    for (std::size_t i = 0; i < kPeekBytes / sink.size() + 1; ++i) {
      if (::recv(socket_.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT) <= 0) break;
    }
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer repeek_;
  std::shared_ptr<const PortMux::Sink> sink_;
  std::shared_ptr<MuxCounts> counts_;
  std::vector<std::uint8_t> buffer_;
  bool proxied_;
  std::chrono::seconds timeout_;
  bool done_ = false;
};

}  // namespace

MuxDecision decide_route(std::span<const std::uint8_t> first) {
  MuxDecision d;
  switch (protocol::classify_stream(first)) {
    case protocol::StreamKind::kUnknown:
      d.need_more = true;
      return d;
    case protocol::StreamKind::kOther:
      d.refused = true;
      return d;
    case protocol::StreamKind::kTurn:
      d.route = MuxRoute::kTurnTcp;
      return d;
    case protocol::StreamKind::kHttp:
      d.route = MuxRoute::kHttp;
      return d;
    case protocol::StreamKind::kTls:
      break;
  }
  const auto hello = protocol::scan_client_hello(first);
  if (hello.status == protocol::ClientHelloScan::Status::kNeedMore) {
    d.need_more = true;
  } else if (hello.status == protocol::ClientHelloScan::Status::kMalformed) {
    d.refused = true;
  } else if (!offers(hello.alpn, protocol::kAlpnTurn) &&
             (offers(hello.alpn, "http/1.1") || offers(hello.alpn, "h2"))) {
    d.route = MuxRoute::kHttps;
  } else if (hello.alpn.empty()) {
    d.route = MuxRoute::kTls;  // TURN clients send none; told apart after the handshake
  } else {
    d.route = MuxRoute::kTurnTls;
  }
  return d;
}

PortMux::PortMux(boost::asio::io_context& io, int fd, Sink sink, TrustedProxy trusted,
                 std::chrono::seconds timeout)
    : acceptor_(io),
      retry_(io),
      sink_(std::make_shared<const Sink>(std::move(sink))),
      trusted_(std::move(trusted)),
      timeout_(timeout) {
  local_ = local_address(fd);
  acceptor_.assign(local_.family == protocol::Family::kIPv6 ? tcp::v6() : tcp::v4(), fd);
}

void PortMux::start() {
  accept();
}

void PortMux::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

void PortMux::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (out_of_descriptors(ec)) {
      // Out of descriptors: accepting again at once would spin. Pause; TURN sheds its own.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](boost::system::error_code wait) {
        if (!wait) accept();
      });
      return;
    }
    if (!ec && counts_->looking >= kMaxLooking) {
      ++counts_->refused;  // `socket` closes as it goes out of scope
    } else if (!ec) {
      boost::system::error_code peer_ec;
      const auto remote = socket.remote_endpoint(peer_ec);
      if (!peer_ec) {
        const bool proxied = trusted_ && trusted_(from_sockaddr(remote.data()));
        std::make_shared<Sniff>(std::move(socket), sink_, counts_, proxied, timeout_)->start();
      }
    }
    accept();
  });
}

}  // namespace tern::net
