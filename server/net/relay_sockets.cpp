// WorkerRelays: bind relay sockets from the shared port range, read peers, send to peers.
#include "relay_sockets.hpp"
#include "wake_stats.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "sockaddr.hpp"

namespace tern::net {

namespace {
constexpr int kBindTries = 8;
constexpr std::size_t kBatch = 16;
constexpr std::size_t kSlot = 4096;  // peer datagrams larger than this are dropped (MSG_TRUNC)
constexpr int kRoundsPerWake = 8;
constexpr int kReceiveBuffer = 1 << 20;

// A bound non-blocking UDP socket on `address` that reports ICMP errors, or -1.
int bind_udp(const protocol::TransportAddress& address) {
  const bool v4 = address.family == protocol::Family::kIPv4;
  const int fd = ::socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  // The kernel's default (net.core.rmem_default, 208 KiB here) holds about 90 datagrams of
  // 1000 bytes: a worker held off the CPU for ~0.1 s on a busy host lost peers' datagrams in
  // the one-hour soak. This is a ceiling, not an allocation (and net.core.rmem_max caps it).
  const int buffer = kReceiveBuffer;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  if (v4) {
    setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof one);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof one);
  }
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(address, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

// Receive slots shared by every relay socket of one worker thread.
struct ReceiveBatch {
  std::array<std::array<std::uint8_t, kSlot>, kBatch> data{};
  std::array<sockaddr_storage, kBatch> from{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> hdr{};
};
}  // namespace

class RelaySocket : public std::enable_shared_from_this<RelaySocket> {
 public:
  RelaySocket(boost::asio::io_context& io, int fd, core::RelayId id,
              const protocol::TransportAddress& local, WorkerRelays& owner)
      : socket_(io), id_(id), local_(local), owner_(owner) {
    socket_.assign(local.family == protocol::Family::kIPv4 ? boost::asio::ip::udp::v4()
                                                           : boost::asio::ip::udp::v6(),
                   fd);
  }
  void start() { wait(); }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
  int fd() { return socket_.native_handle(); }
  int release() {
    boost::system::error_code ignored;
    return socket_.release(ignored);  // the pending wait ends with operation_aborted
  }
  bool set_dont_fragment() {
    const bool v4 = local_.family == protocol::Family::kIPv4;
    const int value = v4 ? IP_PMTUDISC_DO : IPV6_PMTUDISC_DO;
    return setsockopt(fd(), v4 ? IPPROTO_IP : IPPROTO_IPV6,
                      v4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &value, sizeof value) == 0;
  }
  protocol::Family family() const noexcept { return local_.family; }
  // The bound IP (maybe a wildcard) and port.
  const protocol::TransportAddress& local() const noexcept { return local_; }

 private:
  void wait() {
    socket_.async_wait(boost::asio::ip::udp::socket::wait_read,
                       [self = shared_from_this()](boost::system::error_code ec) {
                         if (ec) return;
                         self->drain();
                         if (self->socket_.is_open()) self->wait();
                       });
  }

  void drain() {
    static thread_local ReceiveBatch b;
    for (int round = 0; round < kRoundsPerWake && socket_.is_open(); ++round) {
      for (std::size_t i = 0; i < kBatch; ++i) {
        b.iov[i] = {b.data[i].data(), kSlot};
        b.hdr[i] = {};
        b.hdr[i].msg_hdr.msg_name = &b.from[i];
        b.hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
        b.hdr[i].msg_hdr.msg_iov = &b.iov[i];
        b.hdr[i].msg_hdr.msg_iovlen = 1;
      }
      const int n = recvmmsg(fd(), b.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      note_received(n);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        read_errors();  // an ICMP error is waiting (IP_RECVERR)
        continue;
      }
      for (int i = 0; i < n && socket_.is_open(); ++i) {
        if ((b.hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
          owner_.count_drop(core::Drop::kTooLarge);
          continue;
        }
        owner_.deliver(id_, from_sockaddr(reinterpret_cast<sockaddr*>(&b.from[i])),
                       std::span(b.data[i].data(), b.hdr[i].msg_len));
      }
      if (static_cast<std::size_t>(n) < kBatch) break;
    }
    // ICMP errors need no extra system call here: a queued error makes recvmmsg fail
    // (IP_RECVERR), and the loop above then reads the error queue.
    owner_.flush();
  }

  // RFC 8656 §11.5: ICMP errors for datagrams sent to peers, from the socket's error queue.
  void read_errors() {
    for (int i = 0; i < 16 && socket_.is_open(); ++i) {
      sockaddr_storage peer{};
      std::array<std::uint8_t, 512> control{};
      std::array<std::uint8_t, 64> data{};
      iovec iov{data.data(), data.size()};
      msghdr msg{};
      msg.msg_name = &peer;
      msg.msg_namelen = sizeof peer;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.data();
      msg.msg_controllen = control.size();
      if (recvmsg(fd(), &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
        const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
        if (!v4 && !v6) continue;
        sock_extended_err err{};
        std::memcpy(&err, CMSG_DATA(c), sizeof err);
        if (err.ee_origin != SO_EE_ORIGIN_ICMP && err.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
        owner_.deliver_icmp(id_, from_sockaddr(reinterpret_cast<sockaddr*>(&peer)), err.ee_type,
                            err.ee_code, err.ee_info);
      }
    }
  }

  boost::asio::ip::udp::socket socket_;
  core::RelayId id_;
  protocol::TransportAddress local_;
  WorkerRelays& owner_;
};

WorkerRelays::WorkerRelays(boost::asio::io_context& io, RelayPorts& ports, TcpRelayHub* hub)
    : io_(io), ports_(ports), tcp_(io, ports, hub) {}

WorkerRelays::~WorkerRelays() {
  close_all();
}

bool WorkerRelays::family_available(protocol::Family family) const {
  return ports_.has_family(family);
}

std::optional<core::RelayEndpoint> WorkerRelays::bind(const protocol::TransportAddress& local,
                                                      std::uint64_t token) {
  const int fd = bind_udp(local);
  if (fd < 0) return std::nullopt;
  core::RelayEndpoint endpoint = import_socket({fd, local});
  endpoint.reservation_token = token;
  return endpoint;
}

core::RelayEndpoint WorkerRelays::import_socket(const Exported& exported) {
  const core::RelayId id = ++next_id_;
  auto socket = std::make_shared<RelaySocket>(io_, exported.fd, id, exported.local, *this);
  socket->start();
  sockets_[id] = std::move(socket);
  return core::RelayEndpoint{id, ports_.advertised(exported.local), 0};
}

WorkerRelays::Exported WorkerRelays::export_socket(core::RelayId id) {
  flush_sends();  // what is queued for it goes out from here first
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return {};
  Exported out{it->second->release(), it->second->local()};
  sockets_.erase(it);
  return out;
}

std::optional<core::RelayEndpoint> WorkerRelays::open(protocol::Family family, bool even,
                                                      bool reserve_next) {
  if (!family_available(family)) return std::nullopt;
  for (int i = 0; i < kBindTries; ++i) {
    auto pick = ports_.pick(family, even, reserve_next);
    if (!pick) return std::nullopt;
    if (pick->token != 0 && !hold_next(*pick)) {
      if (errno != EADDRINUSE) return std::nullopt;
      continue;  // another program has the next port: another pair
    }
    if (auto endpoint = bind(pick->local, pick->token)) return endpoint;
    const bool port_taken = errno == EADDRINUSE;
    // The reservation of the next port goes back either way.
    if (pick->token != 0) {
      if (auto held = ports_.take_reserved(pick->token)) {
        if (held->fd >= 0) ::close(held->fd);
        ports_.release(held->local);
      }
    }
    // Out of descriptors or memory: no other port would do better, and this one is free.
    if (!port_taken) {
      ports_.release(pick->local);
      return std::nullopt;
    }
    // Another program holds the port: it stays marked used so that it is not tried again.
  }
  return std::nullopt;
}

std::optional<core::RelayEndpoint> WorkerRelays::open_tcp(protocol::Family family) {
  if (!tcp_.enabled() || !family_available(family)) return std::nullopt;
  for (int i = 0; i < kBindTries; ++i) {
    auto pick = ports_.pick(family, false, false);
    if (!pick) return std::nullopt;
    const core::RelayId id = ++next_id_;
    if (!tcp_.open(pick->local, id)) continue;  // the port stays marked, as for UDP relays
    return core::RelayEndpoint{id, ports_.advertised(pick->local), 0};
  }
  return std::nullopt;
}

// RFC 8656 §7.2: the port after `pick`'s is bound now and held for its reservation, so that
// nothing else on the host takes it before the RESERVATION-TOKEN comes. False (errno set, the
// pair given up: `pick`'s port released, the next one kept marked if another program has it)
// when it cannot be bound.
bool WorkerRelays::hold_next(const RelayPorts::Pick& pick) {
  protocol::TransportAddress next = pick.local;
  next.port = static_cast<std::uint16_t>(pick.local.port + 1);
  const int fd = bind_udp(next);
  if (fd >= 0) {
    ports_.hold(pick.token, fd);
    return true;
  }
  const int error = errno;
  auto reserved = ports_.take_reserved(pick.token);
  if (reserved && error != EADDRINUSE) ports_.release(reserved->local);
  ports_.release(pick.local);
  errno = error;
  return false;
}

std::optional<core::RelayEndpoint> WorkerRelays::open_reserved(std::uint64_t token) {
  auto held = ports_.take_reserved(token);
  if (!held) return std::nullopt;
  if (held->fd >= 0) return import_socket({held->fd, held->local});
  auto endpoint = bind(held->local, 0);
  if (!endpoint) ports_.release(held->local);
  return endpoint;
}

void WorkerRelays::close(core::RelayId id) {
  if (tcp_.close(id)) return;
  flush_sends();  // nothing queued may name a closed (and maybe reused) descriptor
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  it->second->close();
  ports_.release(it->second->local());
  sockets_.erase(it);
}

void WorkerRelays::close_all() {
  flush_sends();
  for (auto& [id, socket] : sockets_) {
    socket->close();
    ports_.release(socket->local());
  }
  sockets_.clear();
  tcp_.close_all();
}

bool WorkerRelays::is_live_relay(const protocol::TransportAddress& address) const {
  return ports_.is_live(address);
}

bool WorkerRelays::is_own_ip(const protocol::TransportAddress& address) const {
  return ports_.is_own_ip(address);
}

bool WorkerRelays::is_own_port(const protocol::TransportAddress& address) const {
  return ports_.is_own_port(address.port);
}

void WorkerRelays::send(core::RelayId id, const protocol::TransportAddress& peer,
                        std::span<const std::uint8_t> bytes) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(peer, ss);
  if (bytes.size() > SendBatch::kSlot) {
    out_.flush();  // keep the order of what is queued for this peer
    (void)::sendto(it->second->fd(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len);
    return;
  }
  out_.add(it->second->fd(), ss, len, bytes);
}

void WorkerRelays::flush_sends() {
  out_.flush();
}

std::optional<protocol::TransportAddress> WorkerRelays::local_address(core::RelayId id) const {
  const auto it = sockets_.find(id);
  if (it == sockets_.end()) return std::nullopt;
  return it->second->local();
}

bool WorkerRelays::set_dont_fragment(core::RelayId id) {
  auto it = sockets_.find(id);
  return it != sockets_.end() && it->second->set_dont_fragment();
}

void WorkerRelays::count_drop(core::Drop reason) {
  if (core_ != nullptr) core_->count_drop(reason);
}

void WorkerRelays::deliver(core::RelayId id, const protocol::TransportAddress& peer,
                           std::span<const std::uint8_t> bytes) {
  if (core_ != nullptr) core_->handle_peer(id, peer, bytes, core::Instant::current(), *router_);
}

void WorkerRelays::deliver_icmp(core::RelayId id, const protocol::TransportAddress& peer,
                                std::uint8_t type, std::uint8_t code, std::uint32_t info) {
  if (core_ != nullptr) {
    core_->handle_peer_icmp(id, peer, type, code, info, core::Instant::current(), *router_);
  }
}

}  // namespace tern::net
