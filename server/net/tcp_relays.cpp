// TcpRelays: listening relayed addresses, connecting from them, handing peer sockets over.
#include "tcp_relays.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sockaddr.hpp"
#include "sockets.hpp"

namespace tern::net {

namespace {
// RFC 6062 §5.2: a Connect fails with 447 when the peer has not answered by then.
constexpr auto kConnectTimeout = std::chrono::seconds(30);
constexpr int kBacklog = 64;

// A TCP socket bound to `local`. Both the relay's listener and the connections Connect opens
// from the same address and port set SO_REUSEPORT, which is what lets them share the port.
int bound_tcp_socket(const protocol::TransportAddress& local) {
  const bool v4 = local.family == protocol::Family::kIPv4;
  const int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (!v4) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(local, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

boost::asio::ip::tcp protocol_of(const protocol::TransportAddress& a) {
  return a.family == protocol::Family::kIPv4 ? boost::asio::ip::tcp::v4()
                                             : boost::asio::ip::tcp::v6();
}

struct Connecting {
  explicit Connecting(boost::asio::io_context& io) : socket(io), timer(io) {}
  boost::asio::ip::tcp::socket socket;
  boost::asio::steady_timer timer;
};
}  // namespace

class TcpRelays::Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& io, int fd, const protocol::TransportAddress& local,
           core::RelayId id, TcpRelays& owner)
      : acceptor_(io, protocol_of(local), fd), retry_(io), local_(local), id_(id), owner_(owner) {}
  void start() { accept(); }
  void close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    retry_.cancel();
  }
  const protocol::TransportAddress& local() const noexcept { return local_; }

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                       boost::asio::ip::tcp::socket socket) {
      if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) {
        self->owner_.peer_connected(self->id_, std::move(socket));
        return self->accept();
      }
      if (!out_of_descriptors(ec)) return self->accept();
      self->retry_.expires_after(std::chrono::milliseconds(100));
      self->retry_.async_wait([self](boost::system::error_code wait) {
        if (!wait && self->acceptor_.is_open()) self->accept();
      });
    });
  }

  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  protocol::TransportAddress local_;
  core::RelayId id_;
  TcpRelays& owner_;
};

TcpRelays::~TcpRelays() {
  close_all();
}

bool TcpRelays::open(const protocol::TransportAddress& local, core::RelayId id) {
  const int fd = bound_tcp_socket(local);
  if (fd < 0) return false;
  if (::listen(fd, kBacklog) != 0) {
    ::close(fd);
    return false;
  }
  auto listener = std::make_shared<Listener>(io_, fd, local, id, *this);
  listener->start();
  listeners_[id] = std::move(listener);
  return true;
}

bool TcpRelays::close(core::RelayId id) {
  auto it = listeners_.find(id);
  if (it == listeners_.end()) return false;
  it->second->close();
  ports_.release(it->second->local());
  listeners_.erase(it);
  return true;
}

void TcpRelays::close_all() {
  for (auto& [id, listener] : listeners_) {
    listener->close();
    ports_.release(listener->local());
  }
  listeners_.clear();
  for (auto& [flow, bound] : bound_) ::close(bound.fd);
  bound_.clear();
}

void TcpRelays::peer_connected(core::RelayId relay, boost::asio::ip::tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec || core_ == nullptr || hub_ == nullptr) return;
  const core::ConnectionId id = core_->tcp_peer_connected(relay, from_sockaddr(remote.data()),
                                                          core::Instant::current(), *router_);
  if (id == 0) return;  // no permission or a limit: the socket closes here
  const int fd = socket.release(ec);
  if (ec) {
    core_->tcp_data_closed(id);
    return;
  }
  hub_->park(id, fd);
}

void TcpRelays::connect(core::RelayId relay, core::ConnectionId id,
                        const protocol::TransportAddress& peer) {
  auto op = std::make_shared<Connecting>(io_);
  auto it = listeners_.find(relay);
  const int fd = it == listeners_.end() ? -1 : bound_tcp_socket(it->second->local());
  boost::system::error_code ec;
  if (fd >= 0) op->socket.assign(protocol_of(peer), fd, ec);
  if (fd < 0 || ec) {
    if (fd >= 0 && ec) ::close(fd);
    // Answered after the Connect's handler has returned, as a real outcome would be.
    boost::asio::post(io_, [this, id] { connected(id, nullptr); });
    return;
  }
  op->timer.expires_after(kConnectTimeout);
  op->timer.async_wait([op](boost::system::error_code wait) {
    boost::system::error_code ignored;
    if (!wait) op->socket.close(ignored);
  });
  op->socket.async_connect(tcp_endpoint(peer), [this, op, id](boost::system::error_code result) {
    op->timer.cancel();
    connected(id, result ? nullptr : &op->socket);
  });
}

void TcpRelays::connected(core::ConnectionId id, boost::asio::ip::tcp::socket* socket) {
  if (core_ == nullptr) return;
  const bool ok = socket != nullptr && socket->is_open();
  const bool keep = core_->tcp_connected(id, ok, core::Instant::current(), *router_);
  if (!ok || !keep || hub_ == nullptr) return;
  boost::system::error_code ec;
  const int fd = socket->release(ec);
  if (ec) return core_->tcp_data_closed(id);
  hub_->park(id, fd);
}

bool TcpRelays::bind(core::ConnectionId id, const core::FiveTuple& data_flow) {
  if (hub_ == nullptr) return false;
  const int fd = hub_->take(id);
  if (fd < 0) return false;
  auto [it, inserted] = bound_.try_emplace(data_flow, Bound{id, fd});
  if (!inserted) {
    ::close(fd);
    hub_->detach(id);
    return false;
  }
  return true;
}

std::optional<TcpRelays::Bound> TcpRelays::take_bound(const core::FiveTuple& flow) {
  auto it = bound_.find(flow);
  if (it == bound_.end()) return std::nullopt;
  const Bound b = it->second;
  bound_.erase(it);
  return b;
}

}  // namespace tern::net
