// The running server: one worker (thread + io_context + core) per core, listeners on each.
#pragma once

#include <memory>
#include <vector>

#include "options.hpp"

namespace tern::net {

struct BoundListener {
  core::Transport transport;
  protocol::TransportAddress address;  // with the port actually bound
};

class Runtime {
 public:
  // Opens every listener (throws std::runtime_error naming the listener when one cannot be
  // opened); nothing is served until run().
  explicit Runtime(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const std::vector<BoundListener>& listeners() const noexcept;
  unsigned workers() const noexcept;
  // Serves until stop(), SIGINT or SIGTERM.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::net
