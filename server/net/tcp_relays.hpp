// One worker's RFC 6062 relays: TCP relay listeners, the connections Connect opens, and the
// peer sockets its client data connections take over.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <optional>
#include <unordered_map>

#include "relay_ports.hpp"
#include "tcp_relay_hub.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

class TcpRelays {
 public:
  // `hub` null = TCP allocations are off.
  TcpRelays(boost::asio::io_context& io, RelayPorts& ports, TcpRelayHub* hub)
      : io_(io), ports_(ports), hub_(hub) {}
  ~TcpRelays();
  TcpRelays(const TcpRelays&) = delete;
  TcpRelays& operator=(const TcpRelays&) = delete;

  void attach(core::Server& core, core::Outbox& router) {
    core_ = &core;
    router_ = &router;
  }
  bool enabled() const noexcept { return hub_ != nullptr; }
  // Listens on `local` (a port of the relay range) as relay `id`; false when the OS refuses.
  bool open(const protocol::TransportAddress& local, core::RelayId id);
  // Closes the listener and gives its port back; false when `id` is no TCP relay of this worker.
  bool close(core::RelayId id);
  void close_all();
  void connect(core::RelayId relay, core::ConnectionId id, const protocol::TransportAddress& peer);
  bool bind(core::ConnectionId id, const core::FiveTuple& data_flow);
  struct Bound {
    core::ConnectionId id = 0;
    int fd = -1;
  };
  // The peer socket a ConnectionBind on `flow` just took, for that connection to adopt.
  std::optional<Bound> take_bound(const core::FiveTuple& flow);
  void close_connection(core::ConnectionId id) {
    if (hub_ != nullptr) hub_->close(id);
  }
  TcpRelayHub* hub() noexcept { return hub_; }

 private:
  class Listener;
  friend class Listener;
  void peer_connected(core::RelayId relay, boost::asio::ip::tcp::socket socket);
  void connected(core::ConnectionId id, boost::asio::ip::tcp::socket* socket);

  boost::asio::io_context& io_;
  RelayPorts& ports_;
  TcpRelayHub* hub_;
  core::Server* core_ = nullptr;
  core::Outbox* router_ = nullptr;
  std::unordered_map<core::RelayId, std::shared_ptr<Listener>> listeners_;
  std::unordered_map<core::FiveTuple, Bound, core::FiveTupleHash> bound_;
};

}  // namespace tern::net
