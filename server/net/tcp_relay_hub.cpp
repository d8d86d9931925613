// TcpRelayHub: the parked peer descriptors and the bound connections' end callbacks.
#include "tcp_relay_hub.hpp"

#include <unistd.h>

namespace tern::net {

TcpRelayHub::~TcpRelayHub() {
  for (const auto& [id, fd] : parked_) ::close(fd);
}

void TcpRelayHub::park(core::ConnectionId id, int fd) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = parked_.try_emplace(id, fd);
  if (!inserted) ::close(fd);  // ids are unique while live; never keep two
}

int TcpRelayHub::take(core::ConnectionId id) {
  std::lock_guard lock(mutex_);
  auto it = parked_.find(id);
  if (it == parked_.end()) return -1;
  const int fd = it->second;
  parked_.erase(it);
  bound_[id] = {};
  return fd;
}

void TcpRelayHub::attach(core::ConnectionId id, std::function<void()> end) {
  {
    std::lock_guard lock(mutex_);
    auto it = bound_.find(id);
    if (it == bound_.end() || !it->second.ended) {
      bound_[id].end = std::move(end);
      return;
    }
    bound_.erase(it);
  }
  end();
}

void TcpRelayHub::detach(core::ConnectionId id) {
  std::lock_guard lock(mutex_);
  bound_.erase(id);
}

void TcpRelayHub::close(core::ConnectionId id) {
  std::function<void()> end;
  {
    std::lock_guard lock(mutex_);
    if (auto it = parked_.find(id); it != parked_.end()) {
      ::close(it->second);
      parked_.erase(it);
      return;
    }
    if (auto it = bound_.find(id); it != bound_.end()) {
      if (!it->second.end) {  // taken, not yet attached: attach ends it
        it->second.ended = true;
        return;
      }
      end = std::move(it->second.end);
      bound_.erase(it);
    }
  }
  if (end) end();
}

std::size_t TcpRelayHub::parked() const {
  std::lock_guard lock(mutex_);
  return parked_.size();
}

}  // namespace tern::net
