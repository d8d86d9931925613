// One worker's UDP socket on a shared SO_REUSEPORT port, drained with recvmmsg, answered with
// sendmmsg.
#pragma once

#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "router.hpp"
#include "send_batch.hpp"
#include "tern/core/outbox.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

class UdpListener final : public core::Outbox {
 public:
  static constexpr std::size_t kBatch = 32;
  static constexpr std::size_t kDatagram = 4096;

  // Takes ownership of a bound, non-blocking UDP socket.
  UdpListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router);
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

 private:
  void wait();
  void drain();

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
};

}  // namespace tern::net
