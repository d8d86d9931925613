// WorkerRelays: bind relay sockets from the shared port range, read peers, send to peers.
#include "relay_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "sockaddr.hpp"

namespace tern::net {

namespace {
constexpr int kBindTries = 8;
constexpr std::size_t kMaxDatagram = 65536;
constexpr int kReadsPerWake = 64;

// A bound non-blocking UDP socket on `address`, or -1 (port taken by someone else).
int bind_udp(const protocol::TransportAddress& address) {
  const int domain = address.family == protocol::Family::kIPv4 ? AF_INET : AF_INET6;
  const int fd = ::socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  if (domain == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(address, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}
}  // namespace

class RelaySocket : public std::enable_shared_from_this<RelaySocket> {
 public:
  RelaySocket(boost::asio::io_context& io, int fd, core::RelayId id, protocol::Family family,
              std::uint16_t port, WorkerRelays& owner)
      : socket_(io), id_(id), family_(family), port_(port), owner_(owner) {
    socket_.assign(family == protocol::Family::kIPv4 ? boost::asio::ip::udp::v4()
                                                     : boost::asio::ip::udp::v6(),
                   fd);
  }
  void start() { wait(); }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  void send(const protocol::TransportAddress& peer, std::span<const std::uint8_t> bytes) {
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(peer, ss);
    // Non-blocking: when the socket buffer is full the datagram is dropped, as UDP would.
    (void)::sendto(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len);
  }
  protocol::Family family() const noexcept { return family_; }
  std::uint16_t port() const noexcept { return port_; }

 private:
  void wait() {
    socket_.async_wait(boost::asio::ip::udp::socket::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec) return;
                         self->drain();
                         self->wait();
                       });
  }
  void drain() {
    static thread_local std::vector<std::uint8_t> buffer(kMaxDatagram);
    for (int i = 0; i < kReadsPerWake; ++i) {
      sockaddr_storage from{};
      socklen_t from_len = sizeof from;
      const ssize_t n = ::recvfrom(socket_.native_handle(), buffer.data(), buffer.size(),
                                   MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
      if (n < 0) break;
      owner_.deliver(id_, from_sockaddr(reinterpret_cast<sockaddr*>(&from)),
                     std::span(buffer.data(), static_cast<std::size_t>(n)));
      if (!socket_.is_open()) break;  // the allocation ended while handling
    }
    owner_.flush();
  }

  boost::asio::ip::udp::socket socket_;
  core::RelayId id_;
  protocol::Family family_;
  std::uint16_t port_;
  WorkerRelays& owner_;
};

WorkerRelays::WorkerRelays(boost::asio::io_context& io, RelayPorts& ports)
    : io_(io), ports_(ports) {}

WorkerRelays::~WorkerRelays() { close_all(); }

bool WorkerRelays::family_available(protocol::Family family) const {
  return family == protocol::Family::kIPv4 || ports_.addresses().bind_v6.has_value();
}

std::optional<core::RelayEndpoint> WorkerRelays::bind(protocol::Family family, std::uint16_t port,
                                                      std::uint64_t token) {
  const auto& a = ports_.addresses();
  protocol::TransportAddress local = family == protocol::Family::kIPv4 ? a.bind_v4 : *a.bind_v6;
  local.port = port;
  const int fd = bind_udp(local);
  if (fd < 0) return std::nullopt;
  const core::RelayId id = ++next_id_;
  auto socket = std::make_shared<RelaySocket>(io_, fd, id, family, port, *this);
  socket->start();
  sockets_[id] = std::move(socket);
  protocol::TransportAddress advertised =
      family == protocol::Family::kIPv4 ? a.advertised_v4 : *a.advertised_v6;
  advertised.port = port;
  return core::RelayEndpoint{id, advertised, token};
}

std::optional<core::RelayEndpoint> WorkerRelays::open(protocol::Family family, bool even,
                                                      bool reserve_next) {
  if (!family_available(family)) return std::nullopt;
  for (int i = 0; i < kBindTries; ++i) {
    auto pick = ports_.pick(family, even, reserve_next);
    if (!pick) return std::nullopt;
    if (auto endpoint = bind(family, pick->port, pick->token)) return endpoint;
    // Another program holds the port: keep it marked used so it is not tried again soon,
    // and give back the reservation of the next one.
    if (pick->token != 0) {
      if (auto held = ports_.take_reserved(pick->token)) ports_.release(held->first, held->second);
    }
  }
  return std::nullopt;
}

std::optional<core::RelayEndpoint> WorkerRelays::open_reserved(std::uint64_t token) {
  auto held = ports_.take_reserved(token);
  if (!held) return std::nullopt;
  auto endpoint = bind(held->first, held->second, 0);
  if (!endpoint) ports_.release(held->first, held->second);
  return endpoint;
}

void WorkerRelays::close(core::RelayId id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  it->second->close();
  ports_.release(it->second->family(), it->second->port());
  sockets_.erase(it);
}

void WorkerRelays::close_all() {
  for (auto& [id, socket] : sockets_) {
    socket->close();
    ports_.release(socket->family(), socket->port());
  }
  sockets_.clear();
}

bool WorkerRelays::is_live_relay(const protocol::TransportAddress& address) const {
  return ports_.is_live(address);
}

bool WorkerRelays::is_own_ip(const protocol::TransportAddress& address) const {
  return ports_.is_own_ip(address);
}

void WorkerRelays::send(core::RelayId id, const protocol::TransportAddress& peer,
                        std::span<const std::uint8_t> bytes) {
  auto it = sockets_.find(id);
  if (it != sockets_.end()) it->second->send(peer, bytes);
}

void WorkerRelays::deliver(core::RelayId id, const protocol::TransportAddress& peer,
                           std::span<const std::uint8_t> bytes) {
  if (core_ != nullptr) core_->handle_peer(id, peer, bytes, core::Instant::current(), *router_);
}

}  // namespace tern::net
