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
constexpr int kSharedRoundsPerWake = 32;  // a shared socket carries every allocation's peers
constexpr int kReceiveBuffer = 1 << 20;
constexpr int kSharedReceiveBuffer = 16 << 20;
// Epoll keys above every relay id: the shared sockets, IPv4 and IPv6.
constexpr std::uint64_t kSharedKey = std::uint64_t{1} << 32;

std::size_t family_index(protocol::Family family) {
  return family == protocol::Family::kIPv4 ? 0 : 1;
}

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

  // Reads up to kBatch datagrams from `fd`: how many, or -1 with errno.
  int receive(int fd) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      iov[i] = {data[i].data(), kSlot};
      hdr[i] = {};
      hdr[i].msg_hdr.msg_name = &from[i];
      hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      hdr[i].msg_hdr.msg_iov = &iov[i];
      hdr[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
    note_received(n);
    return n;
  }
  bool truncated(int i) const { return (hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  protocol::TransportAddress peer(int i) const {
    return from_sockaddr(reinterpret_cast<const sockaddr*>(&from[i]));
  }
  std::span<const std::uint8_t> bytes(int i) const {
    return std::span(data[i].data(), hdr[i].msg_len);
  }
};

// One ICMP error from a relay socket's error queue (RFC 8656 §11.5).
struct IcmpError {
  protocol::TransportAddress peer;
  std::uint8_t type = 0;
  std::uint8_t code = 0;
  std::uint32_t info = 0;
};

// Reads one entry of `fd`'s error queue into `errors` (ICMP ones only): false when it is empty.
bool read_error_entry(int fd, std::vector<IcmpError>& errors) {
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
  if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
    const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    sock_extended_err err{};
    std::memcpy(&err, CMSG_DATA(c), sizeof err);
    if (err.ee_origin != SO_EE_ORIGIN_ICMP && err.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
    errors.push_back(
        {from_sockaddr(reinterpret_cast<sockaddr*>(&peer)), err.ee_type, err.ee_code, err.ee_info});
  }
  return true;
}
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
  if (n > 0) woke_ = core::Instant::current();  // two clock reads a wake-up, not a datagram
  for (int i = 0; i < n; ++i) {
    if (ready[i].data.u64 >= kSharedKey) {
      drain_shared(shared_[ready[i].data.u64 - kSharedKey]);
      continue;
    }
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
    const int n = b.receive(fd);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // An ICMP error is waiting (IP_RECVERR): a queued error makes recvmmsg fail, so reading
      // the error queue costs no system call while there is none.
      read_errors(id, fd);
      if (!still_open(id, closes)) return;
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (b.truncated(i)) {
        count_drop(core::Drop::kTooLarge);
        continue;
      }
      deliver(id, b.peer(i), b.bytes(i));
      if (!still_open(id, closes)) return;  // its allocation ended while this datagram was handled
    }
    if (static_cast<std::size_t>(n) < kBatch) return;
  }
}

// A shared socket's datagrams go to the allocation that sent to their peer; a peer no
// allocation here knows has no permission.
void WorkerRelays::drain_shared(const RelaySocket& shared) {
  static thread_local ReceiveBatch b;
  for (int round = 0; round < kSharedRoundsPerWake; ++round) {
    const int n = b.receive(shared.fd);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      read_shared_errors(shared.fd);
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (b.truncated(i)) {
        count_drop(core::Drop::kTooLarge);
        continue;
      }
      const auto peer = b.peer(i);
      const auto owner = demux_.owner(peer);
      if (!owner) {
        count_drop(core::Drop::kNoPermission);
        continue;
      }
      deliver(*owner, peer, b.bytes(i));
    }
    if (static_cast<std::size_t>(n) < kBatch) return;
  }
}

// RFC 8656 §11.5: ICMP errors for datagrams sent to peers, from the socket's error queue.
void WorkerRelays::read_errors(core::RelayId id, int fd) {
  const std::uint64_t closes = closes_;
  std::vector<IcmpError> errors;
  for (int i = 0; i < 16 && still_open(id, closes); ++i) {
    errors.clear();
    if (!read_error_entry(fd, errors)) return;
    for (const auto& e : errors) {
      if (still_open(id, closes)) deliver_icmp(id, e.peer, e.type, e.code, e.info);
    }
  }
}

void WorkerRelays::read_shared_errors(int fd) {
  std::vector<IcmpError> errors;
  for (int i = 0; i < 16; ++i) {
    errors.clear();
    if (!read_error_entry(fd, errors)) return;
    for (const auto& e : errors) {
      if (const auto owner = demux_.owner(e.peer))
        deliver_icmp(*owner, e.peer, e.type, e.code, e.info);
    }
  }
}

bool WorkerRelays::add(std::uint64_t key, int fd) {
  epoll_event e{};
  e.events = EPOLLIN;  // level-triggered: what a wake-up leaves unread is reported again
  e.data.u64 = key;
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

bool WorkerRelays::open_shared(std::uint16_t port, std::string& why) {
  shared_on_ = true;
  const auto& addresses = ports_.addresses();
  std::array<std::optional<protocol::TransportAddress>, 2> binds = {addresses.bind_v4,
                                                                    addresses.bind_v6};
  for (std::size_t i = 0; i < binds.size(); ++i) {
    if (!binds[i] || !ports_.has_family(binds[i]->family)) continue;
    protocol::TransportAddress local = *binds[i];
    local.port = port;
    const int fd = bind_udp(local);
    if (fd < 0 || !add(kSharedKey + i, fd)) {
      why = "relay.multiplex_port: cannot bind " + local.to_string() + ": " + std::strerror(errno);
      if (fd >= 0) ::close(fd);
      return false;
    }
    // One socket takes every peer's datagrams for the worker: a deeper buffer than a relay's
    // own (SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN; else rmem_max caps it).
    const int buffer = kSharedReceiveBuffer;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    }
    shared_[i] = {fd, local};
  }
  return true;
}

// RFC 8656 §7.2: on a shared socket no port can be held for a later Allocate, and the port is
// even or not for every allocation alike.
std::optional<core::RelayEndpoint> WorkerRelays::open_on_shared(protocol::Family family, bool even,
                                                                bool reserve_next) {
  const RelaySocket& shared = shared_[family_index(family)];
  if (shared.fd < 0 || reserve_next || (even && shared.local.port % 2 != 0)) return std::nullopt;
  const core::RelayId id = ++next_id_;
  shared_ids_.emplace(id, family);
  return core::RelayEndpoint{id, ports_.advertised(shared.local), 0};
}

std::optional<core::RelayEndpoint> WorkerRelays::open(protocol::Family family, bool even,
                                                      bool reserve_next) {
  if (!family_available(family)) return std::nullopt;
  if (shared_on_) return open_on_shared(family, even, reserve_next);
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
  if (shared_ids_.erase(id) != 0) {  // what is queued for it still goes out: the socket stays
    demux_.release(id);
    claimed_peers_.store(demux_.peers(), std::memory_order_relaxed);
    ++closes_;
    return;
  }
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
  for (auto& shared : shared_) {
    if (shared.fd >= 0) ::close(shared.fd);
    shared.fd = -1;
  }
  shared_ids_.clear();
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
  int fd = -1;
  if (shared_on_) {
    const auto it = shared_ids_.find(id);
    if (it == shared_ids_.end()) return;
    // A peer another allocation here sends to stays that one's: its answers could not be told
    // apart.
    if (!demux_.claim(id, peer, core::Clock::now())) {
      count_drop(core::Drop::kDeniedPeer);
      return;
    }
    claimed_peers_.store(demux_.peers(), std::memory_order_relaxed);
    fd = shared_[family_index(it->second)].fd;
  } else {
    const auto it = sockets_.find(id);
    if (it == sockets_.end()) return;
    fd = it->second.fd;
  }
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(peer, ss);
  if (bytes.size() > SendBatch::kSlot) {
    out_.flush();  // keep the order of what is queued for this peer
    (void)::sendto(fd, bytes.data(), bytes.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss),
                   len);
    return;
  }
  out_.add(fd, ss, len, bytes);
}

void WorkerRelays::flush_sends() {
  out_.flush();
}

std::optional<protocol::TransportAddress> WorkerRelays::local_address(core::RelayId id) const {
  if (const auto shared = shared_ids_.find(id); shared != shared_ids_.end()) {
    return shared_[family_index(shared->second)].local;
  }
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
  if (core_ != nullptr) core_->handle_peer(id, peer, bytes, woke_, *router_);
}

void WorkerRelays::deliver_icmp(core::RelayId id, const protocol::TransportAddress& peer,
                                std::uint8_t type, std::uint8_t code, std::uint32_t info) {
  if (core_ != nullptr) {
    core_->handle_peer_icmp(id, peer, type, code, info, woke_, *router_);
  }
}

}  // namespace tern::net
