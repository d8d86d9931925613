// UDP listener: readiness from Asio's reactor, then batched recvmmsg/sendmmsg on the raw fd.
#include "udp_listener.hpp"

#include <algorithm>
#include <cerrno>

#include "sockaddr.hpp"
#include "sockets.hpp"
#include "tern/protocol/proxy_header.hpp"
#include "wake_stats.hpp"

namespace tern::net {

namespace {
// A client a proxy named is forgotten when it has sent nothing for this long: longer than an
// allocation may go without a Refresh (its lifetime) or a permission without renewal.
constexpr auto kProxiedIdle = std::chrono::minutes(65);
constexpr auto kForgetEvery = std::chrono::minutes(1);
}  // namespace

UdpListener::UdpListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router,
                         const ConnectionBudget* budget)
    : socket_(io), core_(core), router_(router), budget_(budget) {
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
      core::FiveTuple flow{from_sockaddr(reinterpret_cast<sockaddr*>(&in_[i].addr)), local_,
                           core::Transport::kUdp};
      if ((in_hdr_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) {  // larger than any STUN we take
        core_.count_drop(core::Drop::kTooLarge);
        continue;
      }
      std::span<const std::uint8_t> bytes(in_[i].data.data(), in_hdr_[i].msg_len);
      // 0x0D starts a PROXY v2 signature and never STUN (0x00-0x03) or ChannelData (0x40-0x7F).
      if (!bytes.empty() && bytes[0] == protocol::kProxyV2Signature[0] && budget_ != nullptr &&
          budget_->trusted_proxy(flow.client)) {
        auto unwrapped = unwrap(flow.client, bytes, now.steady);
        if (!unwrapped) {
          core_.count_drop(core::Drop::kMalformed);
          continue;
        }
        flow.client = unwrapped->client;
        bytes = unwrapped->bytes;
      }
      core_.handle(flow, bytes, now, *this);
    }
    if (!proxied_.empty() && now.steady >= next_forget_) forget_idle_proxied(now.steady);
    flush();
    router_.flush();  // relayed to peers that answered at once, or to other clients
    if (static_cast<std::size_t>(n) < kBatch) break;
  }
}

std::optional<UdpListener::Unwrapped> UdpListener::unwrap(const protocol::TransportAddress& proxy,
                                                          std::span<const std::uint8_t> datagram,
                                                          core::TimePoint now) {
  const auto missing = protocol::proxy_header_missing(datagram);
  if (!missing || *missing != 0) return std::nullopt;  // a header split over datagrams: none
  const auto header = protocol::parse_proxy_header(datagram);
  if (!header || header->version != 2 || header->size > datagram.size()) return std::nullopt;
  Unwrapped out{proxy, datagram.subspan(header->size)};
  if (!header->has_addresses) return out;      // LOCAL: the proxy's own (health check)
  if (!header->datagram) return std::nullopt;  // a TCP header on UDP
  out.client = header->source;
  proxied_[core::FiveTuple{out.client, local_, core::Transport::kUdp}] = {proxy, now};
  return out;
}

void UdpListener::forget_idle_proxied(core::TimePoint now) {
  next_forget_ = now + kForgetEvery;
  std::erase_if(proxied_,
                [&](const auto& entry) { return entry.second.seen + kProxiedIdle < now; });
}

void UdpListener::to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) {
  // An answer from another of this worker's addresses (RFC 5780 CHANGE-REQUEST).
  if (!(flow.server == local_)) return router_.to_client(flow, bytes);
  sockaddr_storage ss{};
  // A client a trusted proxy named is answered through that proxy, without a header: the
  // proxy tells its clients apart by the port it sends from.
  const socklen_t len = to_sockaddr(sender(flow), ss);
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
