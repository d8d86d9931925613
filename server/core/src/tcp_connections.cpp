// TcpConnectionTable: ids, the 30 s ConnectionBind window, binding by the allocation's owner.
#include "tern/core/tcp_connections.hpp"

#include <algorithm>

namespace tern::core {

TcpConnectionTable::TcpConnectionTable() : rng_(std::random_device{}()) {}

std::size_t TcpConnectionTable::count_locked(std::uint64_t session) const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(),
                    [&](const auto& e) { return e.second.session == session; }));
}

TcpConnectionTable::Reserved TcpConnectionTable::reserve(const Owner& owner,
                                                         const protocol::TransportAddress& peer,
                                                         bool connecting, TimePoint deadline,
                                                         TcpConnectionLimits limits) {
  std::lock_guard lock(mutex_);
  const std::uint64_t session = owner.session;
  if (connecting) {
    const bool exists = std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) {
      return e.second.session == session && e.second.peer == peer;
    });
    if (exists) return {0, Refusal::kExists};
  }
  if ((limits.total != 0 && entries_.size() >= limits.total) ||
      (limits.per_allocation != 0 && count_locked(session) >= limits.per_allocation)) {
    return {0, Refusal::kLimit};
  }
  // Random ids: knowing one's own says nothing about another allocation's (which its owner's
  // credentials guard anyway).
  ConnectionId id = 0;
  while (id == 0 || entries_.contains(id)) id = static_cast<ConnectionId>(rng_());
  entries_[id] = {session,
                  std::string(owner.username),
                  owner.control,
                  peer,
                  connecting ? State::kConnecting : State::kWaiting,
                  deadline};
  return {id, Refusal::kNone};
}

bool TcpConnectionTable::established(ConnectionId id, TimePoint deadline) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.state != State::kConnecting) return false;
  it->second.state = State::kWaiting;
  it->second.deadline = deadline;
  return true;
}

std::optional<protocol::TransportAddress> TcpConnectionTable::bind(ConnectionId id,
                                                                   std::string_view username,
                                                                   TimePoint now) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  if (e.state != State::kWaiting || e.deadline <= now || e.username != username) {
    return std::nullopt;
  }
  e.state = State::kBound;
  return e.peer;
}

std::optional<protocol::TransportAddress> TcpConnectionTable::control_client(
    ConnectionId id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.state != State::kWaiting) return std::nullopt;
  return it->second.control;
}

void TcpConnectionTable::remove(ConnectionId id) {
  std::lock_guard lock(mutex_);
  entries_.erase(id);
}

std::vector<ConnectionId> TcpConnectionTable::expire(TimePoint now) {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionId> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.state == State::kWaiting && it->second.deadline <= now) {
      gone.push_back(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<ConnectionId> TcpConnectionTable::end_session(std::uint64_t session) {
  std::lock_guard lock(mutex_);
  std::vector<ConnectionId> gone;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.session == session) {
      gone.push_back(it->first);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::size_t TcpConnectionTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t TcpConnectionTable::count(std::uint64_t session) const {
  std::lock_guard lock(mutex_);
  return count_locked(session);
}

}  // namespace tern::core
