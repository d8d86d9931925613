// One worker's UDP socket on a shared SO_REUSEPORT port, drained with recvmmsg, answered with
// sendmmsg.
#pragma once

#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include <optional>
#include <unordered_map>

#include "connection_budget.hpp"
#include "router.hpp"
#include "send_batch.hpp"
#include "tern/core/outbox.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

class UdpListener final : public core::Outbox {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kDatagram = 4096;

  // Takes ownership of a bound, non-blocking UDP socket. With `budget`, datagrams from its
  // trusted proxies may start with a PROXY protocol v2 header naming the client.
  UdpListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router,
              const ConnectionBudget* budget = nullptr);
  void start();
  void stop();

  // Queues a datagram for the next flush (larger ones go out at once).
  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override;
  void to_peer(core::RelayId relay, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes) override {
    router_.to_peer(relay, peer, bytes);
  }
  void flush();
  const protocol::TransportAddress& local() const noexcept { return local_; }
  // The source address of `flow`'s datagrams: its client, or the proxy that named it.
  const protocol::TransportAddress& sender(const core::FiveTuple& flow) const {
    if (proxied_.empty()) return flow.client;
    auto it = proxied_.find(flow);
    return it == proxied_.end() ? flow.client : it->second.proxy;
  }

 private:
  void wait();
  void drain();
  // A datagram from a trusted proxy with a PROXY v2 header: the client it names and the bytes
  // after the header; nothing when the header is not a well-formed UDP one (dropped).
  struct Unwrapped {
    protocol::TransportAddress client;
    std::span<const std::uint8_t> bytes;
  };
  std::optional<Unwrapped> unwrap(const protocol::TransportAddress& proxy,
                                  std::span<const std::uint8_t> datagram, core::TimePoint now);
  void forget_idle_proxied(core::TimePoint now);

  boost::asio::ip::udp::socket socket_;
  core::Server& core_;
  Router& router_;
  protocol::TransportAddress local_;

  struct Slot {
    std::array<std::uint8_t, kDatagram> data;
    sockaddr_storage addr;
    iovec iov;
  };
  std::array<Slot, kBatch> in_{};
  std::array<mmsghdr, kBatch> in_hdr_{};
  SendBatch out_;
  const ConnectionBudget* budget_;
  // Clients that trusted proxies named, and the proxy address to answer them through.
  struct Via {
    protocol::TransportAddress proxy;
    core::TimePoint seen;
  };
  std::unordered_map<core::FiveTuple, Via, core::FiveTupleHash> proxied_;
  core::TimePoint next_forget_{};
};

}  // namespace tern::net
