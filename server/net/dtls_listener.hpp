// One worker's DTLS socket on a shared SO_REUSEPORT port: datagrams to its DtlsEndpoint, whose
// records go to the core like UDP datagrams and whose replies go back sealed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "connection_budget.hpp"
#include "dtls_endpoint.hpp"
#include "router.hpp"
#include "tern/core/outbox.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

class DtlsListener final : public core::Outbox {
 public:
  // Takes ownership of a bound, non-blocking UDP socket.
  DtlsListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router,
               std::shared_ptr<const DtlsContext> ctx, ConnectionBudget& budget,
               StreamTimeouts timeouts);
  ~DtlsListener() override;
  void start();
  // Ends every association (and the allocations they carry) and closes the socket.
  void stop();
  void set_context(std::shared_ptr<const DtlsContext> ctx) { endpoint_->set_context(ctx); }

  // A record for an association of this listener, or anything else through the router.
  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override;
  void to_peer(core::RelayId relay, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes) override {
    router_.to_peer(relay, peer, bytes);
  }
  const protocol::TransportAddress& local() const noexcept { return local_; }
  const DtlsEndpoint& endpoint() const noexcept { return *endpoint_; }

 private:
  void wait();
  void drain();
  void tick_every_second();
  DtlsEndpoint::Hooks hooks();

  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer ticker_;
  core::Server& core_;
  Router& router_;
  ConnectionBudget& budget_;
  protocol::TransportAddress local_;
  std::vector<std::uint8_t> in_;
  bool stopped_ = false;  // no core calls from here on (shutdown)
  std::unique_ptr<DtlsEndpoint> endpoint_;
};

}  // namespace tern::net
