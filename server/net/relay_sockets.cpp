// WorkerRelays: bind relay sockets from the shared port range, read peers (one epoll set per
// worker), send to peers.
#include "relay_sockets.hpp"
#include "wake_stats.hpp"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

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

WorkerRelays::WorkerRelays(boost::asio::io_context& io, RelayPorts& ports, TcpRelayHub* hub)
    : io_(io), ports_(ports), poll_(io), tcp_(io, ports, hub) {
  const int set = ::epoll_create1(EPOLL_CLOEXEC);
  if (set < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  poll_.assign(set);
  wait();
}

WorkerRelays::~WorkerRelays() {
  close_all();
  boost::system::error_code ignored;
  poll_.close(ignored);  // the pending wait ends with operation_aborted and touches nothing
}

// asio re-arms its own epoll entry for the set with each wait, so a socket left readable (a
// wake-up reads at most kRoundsPerWake batches from each) wakes the worker again at once.
void WorkerRelays::wait() {
  poll_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                   [this](boost::system::error_code ec) {
                     if (ec) return;
                     poll();
                     wait();
                   });
}

void WorkerRelays::poll() {
  std::array<epoll_event, 64> ready;  // filled by epoll_wait: no need to clear it per wake-up
  const int n = ::epoll_wait(poll_.native_handle(), ready.data(), ready.size(), 0);
  for (int i = 0; i < n; ++i) {
    const auto id = static_cast<core::RelayId>(ready[i].data.u64);
    const auto it = sockets_.find(id);  // gone if an earlier datagram's handling closed it
    if (it != sockets_.end()) drain(id, it->second.fd);
  }
  flush();  // the datagrams to clients from every socket read, in as few sends as may be
}

void WorkerRelays::drain(core::RelayId id, int fd) {
  static thread_local ReceiveBatch b;
  const std::uint64_t closes = closes_;
  for (int round = 0; round < kRoundsPerWake; ++round) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      b.iov[i] = {b.data[i].data(), kSlot};
      b.hdr[i] = {};
      b.hdr[i].msg_hdr.msg_name = &b.from[i];
      b.hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      b.hdr[i].msg_hdr.msg_iov = &b.iov[i];
      b.hdr[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, b.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
    note_received(n);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // An ICMP error is waiting (IP_RECVERR): a queued error makes recvmmsg fail, so reading
      // the error queue costs no system call while there is none.
      read_errors(id, fd);
      if (!still_open(id, closes)) return;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if ((b.hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        count_drop(core::Drop::kTooLarge);
        continue;
      }
      deliver(id, from_sockaddr(reinterpret_cast<sockaddr*>(&b.from[i])),
              std::span(b.data[i].data(), b.hdr[i].msg_len));
      if (!still_open(id, closes)) return;  // its allocation ended while this datagram was handled
    }
    if (static_cast<std::size_t>(n) < kBatch) return;
  }
}

// RFC 8656 §11.5: ICMP errors for datagrams sent to peers, from the socket's error queue.
void WorkerRelays::read_errors(core::RelayId id, int fd) {
  const std::uint64_t closes = closes_;
  for (int i = 0; i < 16 && still_open(id, closes); ++i) {
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
    if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err err{};
      std::memcpy(&err, CMSG_DATA(c), sizeof err);
      if (err.ee_origin != SO_EE_ORIGIN_ICMP && err.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      deliver_icmp(id, from_sockaddr(reinterpret_cast<sockaddr*>(&peer)), err.ee_type, err.ee_code,
                   err.ee_info);
    }
  }
}

bool WorkerRelays::add(core::RelayId id, int fd) {
  epoll_event e{};
  e.events = EPOLLIN;  // level-triggered: what a wake-up leaves unread is reported again
  e.data.u64 = id;
  return ::epoll_ctl(poll_.native_handle(), EPOLL_CTL_ADD, fd, &e) == 0;
}

bool WorkerRelays::family_available(protocol::Family family) const {
  return ports_.has_family(family);
}

std::optional<core::RelayEndpoint> WorkerRelays::bind(const protocol::TransportAddress& local,
                                                      std::uint64_t token) {
  const int fd = bind_udp(local);
  if (fd < 0) return std::nullopt;
  const core::RelayId id = ++next_id_;
  if (!add(id, fd)) {
    const int error = errno;  // ENOMEM, or ENOSPC past fs.epoll.max_user_watches
    ::close(fd);
    errno = error;
    return std::nullopt;
  }
  sockets_[id] = {fd, local};
  return core::RelayEndpoint{id, ports_.advertised(local), token};
}

core::RelayEndpoint WorkerRelays::import_socket(const Exported& exported) {
  const core::RelayId id = ++next_id_;
  // Failing that (no memory), the relay stays open and is read no more: its allocation's
  // peers go unheard, as the kernel would drop their datagrams for a full buffer.
  (void)add(id, exported.fd);
  sockets_[id] = {exported.fd, exported.local};
  return core::RelayEndpoint{id, ports_.advertised(exported.local), 0};
}

WorkerRelays::Exported WorkerRelays::export_socket(core::RelayId id) {
  flush_sends();  // what is queued for it goes out from here first
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return {};
  Exported out{it->second.fd, it->second.local};
  (void)::epoll_ctl(poll_.native_handle(), EPOLL_CTL_DEL, out.fd, nullptr);
  sockets_.erase(it);
  ++closes_;
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
  ::close(it->second.fd);  // which takes it out of the epoll set too
  ports_.release(it->second.local);
  sockets_.erase(it);
  ++closes_;
}

void WorkerRelays::close_all() {
  flush_sends();
  for (auto& [id, socket] : sockets_) {
    ::close(socket.fd);
    ports_.release(socket.local);
  }
  sockets_.clear();
  ++closes_;
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
    (void)::sendto(it->second.fd, bytes.data(), bytes.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len);
    return;
  }
  out_.add(it->second.fd, ss, len, bytes);
}

void WorkerRelays::flush_sends() {
  out_.flush();
}

std::optional<protocol::TransportAddress> WorkerRelays::local_address(core::RelayId id) const {
  const auto it = sockets_.find(id);
  if (it == sockets_.end()) return std::nullopt;
  return it->second.local;
}

bool WorkerRelays::set_dont_fragment(core::RelayId id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return false;
  const bool v4 = it->second.local.family == protocol::Family::kIPv4;
  const int value = v4 ? IP_PMTUDISC_DO : IPV6_PMTUDISC_DO;
  return setsockopt(it->second.fd, v4 ? IPPROTO_IP : IPPROTO_IPV6,
                    v4 ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER, &value, sizeof value) == 0;
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
