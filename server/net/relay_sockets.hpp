// One worker's relay sockets (RFC 8656 §2.2 relayed transport addresses), as a RelayProvider.
#pragma once

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "peer_demux.hpp"
#include "relay_ports.hpp"
#include "send_batch.hpp"
#include "tcp_relays.hpp"
#include "tern/core/relay.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

class WorkerRelays final : public core::RelayProvider {
 public:
  // `hub` null = no TCP relays (RFC 6062 off).
  WorkerRelays(boost::asio::io_context& io, RelayPorts& ports, TcpRelayHub* hub = nullptr);
  ~WorkerRelays() override;
  // Where peer datagrams go; set once before the worker runs.
  void attach(core::Server& core, core::Outbox& router) {
    core_ = &core;
    router_ = &router;
    tcp_.attach(core, router);
  }
  // relay.multiplex_port: every UDP relay of this worker is one socket per family, bound to
  // `port` on the relay addresses, and peers' datagrams go to the allocation that sent to them
  // (PeerDemux). False, with `why`, when a socket cannot be bound.
  bool open_shared(std::uint16_t port, std::string& why);
  // Called by router after a batch, to push queued client datagrams out.
  void set_flush(std::function<void()> flush) { flush_ = std::move(flush); }

  std::optional<core::RelayEndpoint> open(protocol::Family family, bool even,
                                          bool reserve_next) override;
  std::optional<core::RelayEndpoint> open_reserved(std::uint64_t token) override;
  void close(core::RelayId id) override;
  bool family_available(protocol::Family family) const override;
  bool is_live_relay(const protocol::TransportAddress& address) const override;
  bool is_own_ip(const protocol::TransportAddress& address) const override;
  bool is_own_port(const protocol::TransportAddress& address) const override;
  std::uint64_t generation() const override { return ports_.generation(); }

  bool set_dont_fragment(core::RelayId id) override;
  // The address relay `id` is bound to (a wildcard IP when the relay address is one).
  std::optional<protocol::TransportAddress> local_address(core::RelayId id) const;

  std::optional<core::RelayEndpoint> open_tcp(protocol::Family family) override;
  void connect(core::RelayId relay, core::ConnectionId id,
               const protocol::TransportAddress& peer) override {
    tcp_.connect(relay, id, peer);
  }
  bool bind_connection(core::ConnectionId id, const core::FiveTuple& data_flow) override {
    return tcp_.bind(id, data_flow);
  }
  void close_connection(core::ConnectionId id) override { tcp_.close_connection(id); }
  TcpRelays& tcp() noexcept { return tcp_; }

  // Queues a datagram for `peer`; a flush sends each relay's datagrams with one sendmmsg.
  void send(core::RelayId id, const protocol::TransportAddress& peer,
            std::span<const std::uint8_t> bytes);
  void flush_sends();
  void close_all();
  // RFC 8016 moves between workers: a relay socket leaves this worker as a bare descriptor
  // (its port stays taken) and is taken up by another. fd -1 = no such relay.
  struct Exported {
    int fd = -1;
    protocol::TransportAddress local;  // bound IP and port
  };
  Exported export_socket(core::RelayId id);
  core::RelayEndpoint import_socket(const Exported& socket);
  std::size_t open_count() const noexcept { return sockets_.size() + shared_ids_.size(); }
  // relay.multiplex_port: peers claimed on this worker's shared sockets; any thread may read.
  std::size_t multiplexed_peers() const noexcept {
    return claimed_peers_.load(std::memory_order_relaxed);
  }

 private:
  // A UDP relay socket: no object of its own in asio. The worker's one epoll set (`poll_`,
  // which asio waits on) holds them all, each under its relay id; 100,000 idle allocations
  // cost their descriptors and this, not a reactor entry and a pending wait apiece.
  struct RelaySocket {
    int fd = -1;
    protocol::TransportAddress local;  // the bound IP (maybe a wildcard) and port
  };
  std::optional<core::RelayEndpoint> bind(const protocol::TransportAddress& local,
                                          std::uint64_t token);
  bool hold_next(const RelayPorts::Pick& pick);
  void wait();
  void poll();
  void drain(core::RelayId id, int fd);
  void read_errors(core::RelayId id, int fd);
  std::optional<core::RelayEndpoint> open_on_shared(protocol::Family family, bool even,
                                                    bool reserve_next);
  void drain_shared(const RelaySocket& shared);
  void read_shared_errors(int fd);
  bool add(std::uint64_t key, int fd);  // a relay id, or kSharedKey + family
  // Relay `id`, open when `closes` was read from closes_, still is (a map lookup only if some
  // relay was closed since).
  bool still_open(core::RelayId id, std::uint64_t closes) const {
    return closes_ == closes || sockets_.contains(id);
  }
  void deliver(core::RelayId id, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes);
  void count_drop(core::Drop reason);
  void deliver_icmp(core::RelayId id, const protocol::TransportAddress& peer, std::uint8_t type,
                    std::uint8_t code, std::uint32_t info);
  void flush() {
    if (flush_) flush_();
  }

  boost::asio::io_context& io_;
  RelayPorts& ports_;
  core::Server* core_ = nullptr;
  core::Outbox* router_ = nullptr;
  std::function<void()> flush_;
  core::RelayId next_id_ = 0;
  std::unordered_map<core::RelayId, RelaySocket> sockets_;
  boost::asio::posix::stream_descriptor poll_;  // the epoll set of every UDP relay socket
  std::uint64_t closes_ = 0;                    // relays closed or exported so far
  core::Instant woke_{};  // read once per wake-up: what the peers' datagrams are handled at
  // relay.multiplex_port: the worker's shared sockets (IPv4, IPv6) and the relays on them.
  bool shared_on_ = false;
  std::array<RelaySocket, 2> shared_{};
  std::unordered_map<core::RelayId, protocol::Family> shared_ids_;
  PeerDemux demux_;
  std::atomic<std::size_t> claimed_peers_{0};  // demux_.peers(), for /metrics

  SendBatch out_;
  TcpRelays tcp_;
};

}  // namespace tern::net
