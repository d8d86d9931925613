// tern_forwarder: the per-core ceiling for relaying UDP with the tools tern's workers use. One
// thread, one socket: recvmmsg up to 64 datagrams at a time, send them all to one fixed
// destination through tern's SendBatch (sendmmsg, runs as one UDP GSO message), and coalesce
// wake-ups by tern's policy (net/coalescing.hpp) at tern's default interval. tern_bench --mode
// raw drives it and measures its packets per CPU-second exactly as it measures a TURN server's.
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <thread>

#include "measure.hpp"
#include "net/coalescing.hpp"
#include "net/send_batch.hpp"
#include "udp.hpp"

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kSlot = 2048;
constexpr std::uint64_t kBusyWake = 32;  // as tern's workers

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

const char* const kUsage =
    "usage: tern_forwarder --listen IP:PORT --to IP:PORT [--max-seconds S] [--port-file FILE]\n"
    "                      [--coalesce-us US] [--no-gso]\n"
    "  Forwards every datagram received on --listen to --to, until SIGINT/SIGTERM or S seconds\n"
    "  (default 600). With port 0, --port-file receives the port it bound. --coalesce-us: the\n"
    "  wake-up coalescing interval (default 250, tern's; 0 = never); --no-gso: one datagram per\n"
    "  message.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace tern::bench;
  std::string listen_text, to_text, port_file;
  double max_seconds = 600;
  long coalesce_us = 250;
  bool gso = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-gso") {
      gso = false;
      continue;
    }
    if (i + 1 >= argc) {
      std::fputs(kUsage, stderr);
      return 2;
    }
    if (a == "--listen")
      listen_text = argv[++i];
    else if (a == "--to")
      to_text = argv[++i];
    else if (a == "--max-seconds")
      max_seconds = std::strtod(argv[++i], nullptr);
    else if (a == "--port-file")
      port_file = argv[++i];
    else if (a == "--coalesce-us")
      coalesce_us = std::strtol(argv[++i], nullptr, 10);
    else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  // Port 0 is allowed for --listen: parse "IP:0" by hand.
  auto listen = parse_endpoint(listen_text);
  if (!listen && listen_text.size() > 2 && listen_text.ends_with(":0")) {
    listen = make_sockaddr(listen_text.substr(0, listen_text.size() - 2), 0);
  }
  const auto to = parse_endpoint(to_text);
  if (!listen || !to) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const int fd = open_udp(*listen, nullptr, 16 << 20);
  if (fd < 0) {
    std::fprintf(stderr, "tern_forwarder: cannot bind %s: %s\n", listen_text.c_str(),
                 std::strerror(errno));
    return 1;
  }
  if (!port_file.empty()) {
    if (FILE* f = std::fopen(port_file.c_str(), "w")) {
      std::fprintf(f, "%u\n", local_port(fd));
      std::fclose(f);
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  static Batch<kBatch, kSlot> b;
  static tern::net::SendBatch out;
  out.set_gso(gso);
  sockaddr_storage to_ss{};
  std::memcpy(&to_ss, &*to, sizeof(sockaddr_in));
  const auto coalesce = std::chrono::microseconds(std::max(0L, coalesce_us));
  prctl(PR_SET_TIMERSLACK, 1000UL);  // as tern's workers
  auto woke = std::chrono::steady_clock::now();
  tern::net::Coalescing policy(coalesce, kBusyWake, woke);
  bool busy = false;
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(max_seconds * 1e9);
  std::uint64_t received = 0;
  while (g_stop == 0 && now_ns() < deadline) {
    if (busy) {  // sustained load: sleep out the rest of the interval, then take it all
      const auto now = std::chrono::steady_clock::now();
      if (now - woke < coalesce) std::this_thread::sleep_for(woke + coalesce - now);
    }
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    woke = std::chrono::steady_clock::now();
    // Drain what is waiting, a batch at a time, like a server worker on one wake-up.
    std::uint64_t got = 0;
    for (int round = 0; round < 16; ++round) {
      b.arm_receive(false);
      const int n = recvmmsg(fd, b.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const auto count = static_cast<std::size_t>(n);
      for (std::size_t i = 0; i < count; ++i) {
        out.add(fd, to_ss, sizeof(sockaddr_in),
                std::span<const std::uint8_t>(b.data[i].data(), b.hdr[i].msg_len));
      }
      got += count;
      if (count < kBatch) break;
    }
    out.flush();
    received += got;
    busy = coalesce.count() > 0 && policy.after_wake(got, woke);
  }
  const std::uint64_t forwarded = received;  // refused ones are dropped, as a relay would
  std::fprintf(stderr, "tern_forwarder: received %llu forwarded %llu\n",
               static_cast<unsigned long long>(received),
               static_cast<unsigned long long>(forwarded));
  ::close(fd);
  return 0;
}
