// Datagrams queued during one wake-up, sent with one sendmmsg per socket; a run of equal-sized
// datagrams to one destination leaves as one UDP GSO send (UDP_SEGMENT).
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <span>

namespace tern::net {

class SendBatch {
 public:
  static constexpr std::size_t kCapacity = 64;
  static constexpr std::size_t kSlot = 4096;  // larger datagrams must be sent by the caller

  // GSO is used when the kernel has it (Linux 4.18+), unless turned off here.
  SendBatch();
  void set_gso(bool on) noexcept { gso_ = on && gso_available(); }
  bool gso() const noexcept { return gso_; }
  static bool gso_available();

  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  // Queues a copy of `bytes` (at most kSlot) for `to` on `fd`; flushes first when full.
  void add(int fd, const sockaddr_storage& to, socklen_t to_len,
           std::span<const std::uint8_t> bytes);
  // Sends everything queued. Per socket and destination, datagrams keep their order.
  // Datagrams the kernel refuses (full buffer, unreachable) are dropped, as UDP would.
  void flush();

  // Counters since construction, for tests and diagnostics.
  struct Counters {
    std::uint64_t system_calls = 0;
    std::uint64_t gso_sends = 0;      // messages that carried more than one datagram
    std::uint64_t gso_fallbacks = 0;  // GSO messages refused and sent one by one
  };
  const Counters& counters() const noexcept { return counters_; }

 private:
  struct Slot {
    int fd;
    socklen_t to_len;
    std::uint16_t size;
    sockaddr_storage to;
    std::array<std::uint8_t, kSlot> data;
  };
  std::size_t build_messages(int fd, std::size_t first);
  void finish_message(std::size_t m);
  void send_messages(int fd, std::size_t count);
  static bool gso_refusal(int error) noexcept;
  void refused_run(int fd, std::size_t m, int error);
  bool send_one_by_one(int fd, std::size_t m);  // true when at least one was taken
  void restore_gso_after_a_while();
  bool same_run(const Slot& a, const Slot& b) const noexcept;

  std::array<Slot, kCapacity> slots_{};
  std::array<bool, kCapacity> sent_{};
  std::size_t count_ = 0;
  bool gso_ = false;
  std::size_t gso_max_segment_;  // lowered for a minute when a path refuses a segment size
  std::chrono::steady_clock::time_point lowered_at_;
  Counters counters_;

  // Scratch for one socket's messages: message i starts at slot head_[i] and covers
  // iov_[first_[i] .. first_[i] + segments_[i]).
  std::array<mmsghdr, kCapacity> msgs_{};
  std::array<iovec, kCapacity> iov_{};
  std::array<std::size_t, kCapacity> head_{};
  std::array<std::size_t, kCapacity> first_{};
  std::array<std::uint16_t, kCapacity> segments_{};
  struct alignas(cmsghdr) Control {
    std::array<std::uint8_t, CMSG_SPACE(sizeof(std::uint16_t))> bytes;
  };
  std::array<Control, kCapacity> control_{};
};

}  // namespace tern::net
