// A worker's routing of core output: to clients over UDP listeners or stream connections,
// and to peers through relay sockets.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "relay_sockets.hpp"
#include "tern/core/outbox.hpp"

namespace tern::net {

class UdpListener;
class DtlsListener;

// A TCP or TLS connection, as seen by the router: it can take a frame for its client.
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  virtual void send_frame(std::span<const std::uint8_t> bytes) = 0;
};

class Router final : public core::Outbox {
 public:
  explicit Router(WorkerRelays& relays) : relays_(relays) {}

  void add_udp(UdpListener& listener) { udp_.push_back(&listener); }
  void remove_udp(UdpListener& listener) { std::erase(udp_, &listener); }
  void add_dtls(DtlsListener& listener) { dtls_.push_back(&listener); }
  void remove_dtls(DtlsListener& listener) { std::erase(dtls_, &listener); }
  // False when another live connection has this 5-tuple (two proxies naming one client).
  bool add_stream(const core::FiveTuple& flow, std::weak_ptr<ClientSink> sink) {
    auto [it, inserted] = streams_.try_emplace(flow, sink);
    if (!inserted && !it->second.expired()) return false;
    it->second = std::move(sink);
    return true;
  }
  void remove_stream(const core::FiveTuple& flow) { streams_.erase(flow); }

  void to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) override;
  void to_peer(core::RelayId relay, const protocol::TransportAddress& peer,
               std::span<const std::uint8_t> bytes) override {
    relays_.send(relay, peer, bytes);
  }
  WorkerRelays& relays() noexcept { return relays_; }
  // True while a UDP listener of this worker is bound to `local`.
  bool has_udp(const protocol::TransportAddress& local) const;
  // RFC 6062: the relays of this worker, whose TCP part hands peer sockets to data connections.
  TcpRelays& tcp_relays() noexcept { return relays_.tcp(); }
  // Where a UDP client's datagrams come from on the wire: the client, or the proxy that named
  // it in a PROXY header.
  protocol::TransportAddress udp_sender(const core::FiveTuple& flow) const;
  // Sends what UDP listeners queued while peers' datagrams were handled.
  void flush();

 private:
  WorkerRelays& relays_;
  std::vector<UdpListener*> udp_;
  std::vector<DtlsListener*> dtls_;
  std::unordered_map<core::FiveTuple, std::weak_ptr<ClientSink>, core::FiveTupleHash> streams_;
};

}  // namespace tern::net
