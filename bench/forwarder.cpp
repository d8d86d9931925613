// tern_forwarder: the per-core ceiling for relaying UDP. One thread, one socket: recvmmsg up to
// 64 datagrams, sendmmsg them all to one fixed destination, repeat. tern_bench --mode raw drives
// it and measures its packets per CPU-second exactly as it measures a TURN server's.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "measure.hpp"
#include "udp.hpp"

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kSlot = 2048;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

const char* const kUsage =
    "usage: tern_forwarder --listen IP:PORT --to IP:PORT [--max-seconds S] [--port-file FILE]\n"
    "  Forwards every datagram received on --listen to --to, until SIGINT/SIGTERM or S seconds\n"
    "  (default 600). With port 0, --port-file receives the port it bound.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace tern::bench;
  std::string listen_text, to_text, port_file;
  double max_seconds = 600;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
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
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(max_seconds * 1e9);
  std::uint64_t received = 0;
  std::uint64_t forwarded = 0;
  while (g_stop == 0 && now_ns() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    // Drain what is waiting, a batch at a time, like a server worker on one wake-up.
    for (int round = 0; round < 16; ++round) {
      b.arm_receive(false);
      const int n = recvmmsg(fd, b.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const auto count = static_cast<std::size_t>(n);
      received += count;
      for (std::size_t i = 0; i < count; ++i) {
        b.addr[i] = *to;
        b.arm_send(i, b.hdr[i].msg_len, true);
      }
      std::size_t done = 0;
      while (done < count) {
        done += send_batch(fd, b.hdr.data() + done, count - done);
        if (done < count) ++done;  // refused (full buffer): drop it, as a relay would
      }
      forwarded += count;
      if (count < kBatch) break;
    }
  }
  std::fprintf(stderr, "tern_forwarder: received %llu forwarded %llu\n",
               static_cast<unsigned long long>(received),
               static_cast<unsigned long long>(forwarded));
  ::close(fd);
  return 0;
}
