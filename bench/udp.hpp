// Socket helpers for the benchmark tools: address parsing, bound/connected UDP and TCP sockets with
// large buffers, and fixed batches of mmsghdr slots for recvmmsg/sendmmsg.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tern/protocol/address.hpp"

namespace tern::bench {

// "1.2.3.4:5" (IPv4 only: everything the benchmark does is on 127.0.0.0/8).
std::optional<sockaddr_in> parse_endpoint(const std::string& text);
sockaddr_in make_sockaddr(const std::string& ip, std::uint16_t port);
protocol::TransportAddress to_transport(const sockaddr_in& a);
sockaddr_in to_sockaddr(const protocol::TransportAddress& a);

// A non-blocking UDP socket bound to `local` (port 0 = any), connected to `remote` when given,
// with SO_RCVBUF/SO_SNDBUF of `buffer` bytes (forced when allowed). -1 on failure.
int open_udp(const sockaddr_in& local, const sockaddr_in* remote, int buffer);
std::uint16_t local_port(int fd);
// A non-blocking TCP connection from `local` to `remote` with TCP_NODELAY. -1 on failure.
int open_tcp(const sockaddr_in& local, const sockaddr_in& remote, int buffer);
bool set_non_blocking(int fd, bool on);

// Runs `open` (which makes a socket) in network namespace `netns` (/var/run/netns/NAME; empty =
// this one) and comes back: the socket stays in that namespace. -1 when the namespace cannot be
// entered.
int in_netns(const std::string& netns, const std::function<int()>& open);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
unsigned long raise_fd_limit();

// N receive or send slots of `Size` bytes each, with their iovecs, addresses and headers.
template <std::size_t N, std::size_t Size>
struct Batch {
  std::array<std::array<std::uint8_t, Size>, N> data{};
  std::array<sockaddr_in, N> addr{};
  std::array<iovec, N> iov{};
  std::array<mmsghdr, N> hdr{};

  // Prepares every slot to receive a whole datagram (with its source address if `names`).
  void arm_receive(bool names) noexcept {
    for (std::size_t i = 0; i < N; ++i) arm_send(i, Size, names);  // same layout, whole slot
  }
  // Slot i will send `len` bytes of data[i] (to addr[i] if `names`, else on a connected socket).
  void arm_send(std::size_t i, std::size_t len, bool names) noexcept {
    iov[i] = {data[i].data(), len};
    hdr[i] = {};
    if (names) {
      hdr[i].msg_hdr.msg_name = &addr[i];
      hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    hdr[i].msg_hdr.msg_iov = &iov[i];
    hdr[i].msg_hdr.msg_iovlen = 1;
  }
};

// sendmmsg of `count` prepared headers, retrying EINTR; returns how many the kernel took
// (stops at the first refused datagram, e.g. a full buffer).
std::size_t send_batch(int fd, mmsghdr* hdr, std::size_t count);

}  // namespace tern::bench
