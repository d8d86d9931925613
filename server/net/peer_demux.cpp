// PeerDemux: exact peer addresses first, then a peer IP that only one relay knows.
#include "peer_demux.hpp"

#include <algorithm>

namespace tern::net {

bool PeerDemux::claim(core::RelayId id, const protocol::TransportAddress& peer,
                      core::TimePoint now) {
  const auto it = by_peer_.find(peer);
  if (it != by_peer_.end()) {
    Entry& e = it->second;
    if (e.id == id) {
      e.last = now;
      return true;
    }
    if (now - e.last < kIdle) return false;  // another allocation's, and in use
    const core::RelayId old = e.id;
    by_peer_.erase(it);
    drop_from_relay(old, peer);
    drop_ip(old, peer);
  }
  if (by_relay_[id].size() >= kMaxPeersPerRelay) return false;
  add(id, peer, now);
  return true;
}

std::optional<core::RelayId> PeerDemux::owner(const protocol::TransportAddress& peer) const {
  if (const auto it = by_peer_.find(peer); it != by_peer_.end()) return it->second.id;
  const auto ip = by_ip_.find(ip_of(peer));
  if (ip == by_ip_.end() || ip->second.size() != 1) return std::nullopt;
  return ip->second.front().first;
}

void PeerDemux::release(core::RelayId id) {
  const auto it = by_relay_.find(id);
  if (it == by_relay_.end()) return;
  for (const auto& peer : it->second) {
    by_peer_.erase(peer);
    drop_ip(id, peer);
  }
  by_relay_.erase(it);
}

void PeerDemux::add(core::RelayId id, const protocol::TransportAddress& peer, core::TimePoint now) {
  by_peer_.emplace(peer, Entry{id, now});
  by_relay_[id].push_back(peer);
  IpOwners& owners = by_ip_[ip_of(peer)];
  const auto mine =
      std::find_if(owners.begin(), owners.end(), [id](const auto& o) { return o.first == id; });
  if (mine != owners.end()) {
    ++mine->second;
  } else {
    owners.emplace_back(id, 1);
  }
}

void PeerDemux::drop_ip(core::RelayId id, const protocol::TransportAddress& peer) {
  const auto it = by_ip_.find(ip_of(peer));
  if (it == by_ip_.end()) return;
  IpOwners& owners = it->second;
  const auto mine =
      std::find_if(owners.begin(), owners.end(), [id](const auto& o) { return o.first == id; });
  if (mine != owners.end() && --mine->second == 0) owners.erase(mine);
  if (owners.empty()) by_ip_.erase(it);
}

void PeerDemux::drop_from_relay(core::RelayId id, const protocol::TransportAddress& peer) {
  const auto it = by_relay_.find(id);
  if (it == by_relay_.end()) return;
  std::erase(it->second, peer);
  if (it->second.empty()) by_relay_.erase(it);
}

}  // namespace tern::net
