// tern_forwarder: the per-core ceiling for relaying UDP with the tools tern's workers use. One
// thread: recvmmsg up to 64 datagrams at a time, send them through tern's SendBatch (sendmmsg;
// a run to one destination leaves as one UDP GSO message), and coalesce wake-ups by tern's
// policy (net/coalescing.hpp) at tern's default interval. Two ways to forward:
//   one-way:  everything received on --listen goes to --to (tern_bench --mode raw, a sink);
//   --pairs N: a relay without TURN. Client k (in the order they are first heard) is paired
//             with peer --to + k; its datagrams leave from one relay socket to that peer, and
//             what the peer sends back goes to the client (tern_bench --mode rawecho, echo peers).
// tern_bench measures its packets per CPU-second exactly as it measures a TURN server's.
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
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "measure.hpp"
#include "net/coalescing.hpp"
#include "net/send_batch.hpp"
#include "udp.hpp"

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kSlot = 2048;
constexpr std::uint64_t kBusyWake = 32;  // as tern's workers
constexpr std::size_t kMaxPairs = 4096;

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

const char* const kUsage =
    "usage: tern_forwarder --listen IP:PORT --to IP:PORT [--pairs N] [--max-seconds S]\n"
    "                      [--port-file FILE] [--coalesce-us US] [--no-gso]\n"
    "  Forwards every datagram received on --listen to --to, until SIGINT/SIGTERM or S seconds\n"
    "  (default 600). --pairs N: two-way, client k to peer --to + k (k < N) from one relay\n"
    "  socket and the peer's datagrams back to client k. With port 0, --port-file receives the\n"
    "  port it bound. --coalesce-us: the wake-up coalescing interval (default 250, tern's;\n"
    "  0 = never); --no-gso: one datagram per message.\n";

struct Options {
  std::string listen_text, to_text, port_file;
  double max_seconds = 600;
  long coalesce_us = 250;
  bool gso = true;
  std::size_t pairs = 0;  // 0: one-way
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-gso") {
      o.gso = false;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--listen")
      o.listen_text = v;
    else if (a == "--to")
      o.to_text = v;
    else if (a == "--max-seconds")
      o.max_seconds = std::strtod(v, nullptr);
    else if (a == "--port-file")
      o.port_file = v;
    else if (a == "--coalesce-us")
      o.coalesce_us = std::strtol(v, nullptr, 10);
    else if (a == "--pairs")
      o.pairs = std::strtoul(v, nullptr, 10);
    else
      return false;
  }
  return o.pairs <= kMaxPairs;
}

// Port 0 is allowed for --listen: parse "IP:0" by hand.
std::optional<sockaddr_in> parse_listen(const std::string& text) {
  auto listen = tern::bench::parse_endpoint(text);
  if (!listen && text.size() > 2 && text.ends_with(":0"))
    listen = tern::bench::make_sockaddr(text.substr(0, text.size() - 2), 0);
  return listen;
}

std::uint64_t key_of(const sockaddr_in& a) {
  return (std::uint64_t{ntohl(a.sin_addr.s_addr)} << 16) | ntohs(a.sin_port);
}

sockaddr_storage storage_of(const sockaddr_in& a) {
  sockaddr_storage ss{};
  std::memcpy(&ss, &a, sizeof a);
  return ss;
}

// Where each received datagram goes: one fixed destination, or the client/peer pairing.
class Forwarder {
 public:
  Forwarder(const Options& o, int listen_fd, int relay_fd, const sockaddr_in& to)
      : pairs_(o.pairs),
        listen_fd_(listen_fd),
        relay_fd_(relay_fd),
        to_(to),
        to_storage_(storage_of(to)) {
    out_.set_gso(o.gso);
  }

  // Drains what is waiting on `fd`, a batch at a time, like a server worker on one wake-up.
  std::uint64_t drain(int fd) {
    std::uint64_t got = 0;
    for (int round = 0; round < 16; ++round) {
      b_.arm_receive(pairs_ != 0);
      const int n = recvmmsg(fd, b_.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;
      const auto count = static_cast<std::size_t>(n);
      for (std::size_t i = 0; i < count; ++i) {
        const std::span<const std::uint8_t> bytes(b_.data[i].data(), b_.hdr[i].msg_len);
        if (pairs_ == 0)
          out_.add(fd, to_storage_, sizeof(sockaddr_in), bytes);
        else if (fd == listen_fd_)
          from_client(b_.addr[i], bytes);
        else
          from_peer(b_.addr[i], bytes);
      }
      got += count;
      if (count < kBatch) break;
    }
    return got;
  }
  void flush() { out_.flush(); }
  std::uint64_t unpaired() const { return unpaired_; }

 private:
  void from_client(const sockaddr_in& client, std::span<const std::uint8_t> bytes) {
    auto [it, inserted] = index_.try_emplace(key_of(client), clients_.size());
    if (inserted) {
      if (clients_.size() == pairs_) {  // every peer is taken
        index_.erase(it);
        ++unpaired_;
        return;
      }
      sockaddr_in peer = to_;
      peer.sin_port = htons(static_cast<std::uint16_t>(ntohs(to_.sin_port) + clients_.size()));
      clients_.push_back(storage_of(client));
      peers_.push_back(storage_of(peer));
    }
    out_.add(relay_fd_, peers_[it->second], sizeof(sockaddr_in), bytes);
  }

  void from_peer(const sockaddr_in& peer, std::span<const std::uint8_t> bytes) {
    const std::size_t k = ntohs(peer.sin_port) - std::size_t{ntohs(to_.sin_port)};
    if (peer.sin_addr.s_addr != to_.sin_addr.s_addr || k >= clients_.size()) {
      ++unpaired_;
      return;
    }
    out_.add(listen_fd_, clients_[k], sizeof(sockaddr_in), bytes);
  }

  std::size_t pairs_;
  int listen_fd_, relay_fd_;
  sockaddr_in to_;
  sockaddr_storage to_storage_;  // one-way: the destination, as SendBatch takes it
  tern::bench::Batch<kBatch, kSlot> b_;
  tern::net::SendBatch out_;
  std::unordered_map<std::uint64_t, std::size_t> index_;  // client address -> k
  std::vector<sockaddr_storage> clients_;                 // by k
  std::vector<sockaddr_storage> peers_;                   // by k: --to + k
  std::uint64_t unpaired_ = 0;
};

int open_or_complain(const sockaddr_in& local, const std::string& text) {
  const int fd = tern::bench::open_udp(local, nullptr, 16 << 20);
  if (fd < 0)
    std::fprintf(stderr, "tern_forwarder: cannot bind %s: %s\n", text.c_str(),
                 std::strerror(errno));
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace tern::bench;
  Options o;
  const auto listen = parse(argc, argv, o) ? parse_listen(o.listen_text) : std::nullopt;
  const auto to = parse_endpoint(o.to_text);
  if (!listen || !to) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const int fd = open_or_complain(*listen, o.listen_text);
  if (fd < 0) return 1;
  int relay_fd = -1;
  if (o.pairs > 0) {  // the relay socket: the listen address, any port
    sockaddr_in relay = *listen;
    relay.sin_port = 0;
    if ((relay_fd = open_or_complain(relay, "the relay socket")) < 0) return 1;
  }
  if (!o.port_file.empty()) {
    if (FILE* f = std::fopen(o.port_file.c_str(), "w")) {
      std::fprintf(f, "%u\n", local_port(fd));
      std::fclose(f);
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: poll returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  static Forwarder fwd(o, fd, relay_fd, *to);
  const auto coalesce = std::chrono::microseconds(std::max(0L, o.coalesce_us));
  prctl(PR_SET_TIMERSLACK, 1000UL);  // as tern's workers
  auto woke = std::chrono::steady_clock::now();
  tern::net::Coalescing policy(coalesce, kBusyWake, woke);
  bool busy = false;
  const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(o.max_seconds * 1e9);
  std::uint64_t received = 0;
  pollfd p[2] = {{fd, POLLIN, 0}, {relay_fd, POLLIN, 0}};
  const nfds_t watched = relay_fd < 0 ? 1 : 2;
  while (g_stop == 0 && now_ns() < deadline) {
    if (busy) {  // sustained load: sleep out the rest of the interval, then take it all
      const auto now = std::chrono::steady_clock::now();
      if (now - woke < coalesce) std::this_thread::sleep_for(woke + coalesce - now);
    }
    if (poll(p, watched, 200) <= 0) continue;
    woke = std::chrono::steady_clock::now();
    std::uint64_t got = 0;
    for (nfds_t i = 0; i < watched; ++i) {
      if (p[i].revents != 0) got += fwd.drain(p[i].fd);
    }
    fwd.flush();
    received += got;
    busy = coalesce.count() > 0 && policy.after_wake(got, woke);
  }
  std::fprintf(stderr, "tern_forwarder: received %llu forwarded %llu\n",
               static_cast<unsigned long long>(received),
               static_cast<unsigned long long>(received - fwd.unpaired()));
  ::close(fd);
  if (relay_fd >= 0) ::close(relay_fd);
  return 0;
}
