// RFC 6062 peer data connections between workers: parked until bound, then ended on request.
#pragma once

#include <functional>
#include <mutex>
#include <unordered_map>

#include "tern/core/relay.hpp"

namespace tern::net {

// One per process. A peer connection is opened or accepted on the worker of its allocation,
// but its ConnectionBind may arrive on any worker; the peer socket waits here as a bare
// descriptor (read by no one, so its data waits in the kernel, RFC 6062 §5.2) and is taken by
// the worker that holds the client data connection. Control path only.
class TcpRelayHub {
 public:
  TcpRelayHub() = default;
  ~TcpRelayHub();
  TcpRelayHub(const TcpRelayHub&) = delete;
  TcpRelayHub& operator=(const TcpRelayHub&) = delete;

  void park(core::ConnectionId id, int fd);
  // The parked descriptor of `id`, now the caller's, who must attach or detach it next; -1
  // when there is none.
  int take(core::ConnectionId id);
  // `id` is bound; `end` ends it (it must post to the worker that holds it). When `id` was
  // closed between take and attach, `end` runs at once.
  void attach(core::ConnectionId id, std::function<void()> end);
  void detach(core::ConnectionId id);
  // Ends `id` wherever it is: a parked descriptor is closed, a bound connection told to end.
  void close(core::ConnectionId id);
  std::size_t parked() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<core::ConnectionId, int> parked_;
  struct Bound {
    std::function<void()> end;  // empty between take and attach
    bool ended = false;         // closed before attach
  };
  std::unordered_map<core::ConnectionId, Bound> bound_;
};

}  // namespace tern::net
