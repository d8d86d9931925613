// UDP listener: readiness from Asio's reactor, then batched recvmmsg/sendmmsg on the raw fd.
#include "udp_listener.hpp"

#include <algorithm>
#include <cerrno>

#include "sockaddr.hpp"
#include "sockets.hpp"
#include "wake_stats.hpp"

namespace tern::net {

UdpListener::UdpListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router)
    : socket_(io), core_(core), router_(router) {
  local_ = local_address(fd);
  socket_.assign(local_.family == protocol::Family::kIPv6 ? boost::asio::ip::udp::v6()
                                                          : boost::asio::ip::udp::v4(),
                 fd);
  socket_.non_blocking(true);
  for (std::size_t i = 0; i < kBatch; ++i) in_[i].iov = {in_[i].data.data(), kDatagram};
}

void UdpListener::start() {
  wait();
}

void UdpListener::stop() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void UdpListener::wait() {
  socket_.async_wait(boost::asio::ip::udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec) return;  // closed on shutdown
    drain();
    wait();
  });
}

void UdpListener::drain() {
  const int fd = socket_.native_handle();
  const auto now = core::Instant::current();
  // A bounded number of batches per wake-up keeps one busy socket from starving the others.
  for (int round = 0; round < 8; ++round) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      in_hdr_[i] = {};
      in_hdr_[i].msg_hdr.msg_name = &in_[i].addr;
      in_hdr_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      in_hdr_[i].msg_hdr.msg_iov = &in_[i].iov;
      in_hdr_[i].msg_hdr.msg_iovlen = 1;
    }
    const int n = recvmmsg(fd, in_hdr_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;
    note_received(n);
    for (int i = 0; i < n; ++i) {
      const core::FiveTuple flow{from_sockaddr(reinterpret_cast<sockaddr*>(&in_[i].addr)), local_,
                                 core::Transport::kUdp};
      if ((in_hdr_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {  // larger than any STUN we take
        core_.count_drop(core::Drop::kTooLarge);
        continue;
      }
      core_.handle(flow, std::span(in_[i].data.data(), in_hdr_[i].msg_len), now, *this);
    }
    flush();
    router_.flush();  // relayed to peers that answered at once, or to other clients
    if (static_cast<std::size_t>(n) < kBatch) break;
  }
}

void UdpListener::to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) {
  // An answer from another of this worker's addresses (RFC 5780 CHANGE-REQUEST).
  if (!(flow.server == local_)) return router_.to_client(flow, bytes);
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(flow.client, ss);
  if (bytes.size() > SendBatch::kSlot) {
    out_.flush();  // keep the order of what is queued for this client
    (void)::sendto(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len);
    return;
  }
  out_.add(socket_.native_handle(), ss, len, bytes);
}

void UdpListener::flush() {
  out_.flush();
}

}  // namespace tern::net
