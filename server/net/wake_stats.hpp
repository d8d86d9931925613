// Datagrams a worker thread has received, counted by its sockets' drains: how busy a wake-up was.
#pragma once

#include <cstdint>

namespace tern::net {

// One counter per thread (each worker is one thread): plain increments, no atomics.
inline std::uint64_t& datagrams_received() noexcept {
  thread_local std::uint64_t count = 0;
  return count;
}

inline void note_received(int n) noexcept {
  if (n > 0) datagrams_received() += static_cast<std::uint64_t>(n);
}

}  // namespace tern::net
