// Router: finds the listener or connection that owns a client's 5-tuple.
#include "router.hpp"

#include "dtls_listener.hpp"
#include "udp_listener.hpp"

namespace tern::net {

bool Router::has_udp(const protocol::TransportAddress& local) const {
  for (const UdpListener* l : udp_) {
    if (l->local() == local) return true;
  }
  return false;
}

void Router::to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) {
  if (flow.transport == core::Transport::kUdp) {
    for (UdpListener* l : udp_) {
      if (l->local() == flow.server) return l->to_client(flow, bytes);
    }
    return;
  }
  if (flow.transport == core::Transport::kDtls) {
    for (DtlsListener* l : dtls_) {
      if (l->local() == flow.server) return l->to_client(flow, bytes);
    }
    return;
  }
  auto it = streams_.find(flow);
  if (it == streams_.end()) return;
  if (auto sink = it->second.lock()) sink->send_frame(bytes);
}

protocol::TransportAddress Router::udp_sender(const core::FiveTuple& flow) const {
  for (const UdpListener* l : udp_) {
    if (l->local() == flow.server) return l->sender(flow);
  }
  return flow.client;
}

void Router::flush() {
  relays_.flush_sends();
  for (UdpListener* l : udp_) l->flush();
}

}  // namespace tern::net
