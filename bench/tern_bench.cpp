// tern_bench: a load generator for any TURN server over UDP or TCP on loopback (and for a raw
// UDP forwarder). N clients do the long-term-credential Allocate dance, bind a channel (or create a
// permission) to an echo peer the tool runs itself, then send ChannelData or Send indications
// at a given size and rate; or it measures Allocate rate and latency, Binding rate, or memory
// per idle allocation. One run prints one JSON object. Method: docs/performance.md.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench_options.hpp"
#include "measure.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/stream.hpp"
#include "tls_client.hpp"
#include "turn_messages.hpp"
#include "udp.hpp"

namespace tern::bench {
namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kSlot = 2048;
constexpr std::uint32_t kMagic = 0x6e726574;  // "tern" in little-endian memory
constexpr std::uint64_t kPeerId = ~std::uint64_t{0};
constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSec = 1'000'000'000;
constexpr std::size_t kStreamBacklog = 1 << 20;  // TCP: stop sending while this much is unsent

std::uint64_t secs_to_ns(double s) {
  return static_cast<std::uint64_t>(s * 1e9);
}
double ns_to_secs(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

// A TURN client: one UDP socket (one 5-tuple, one allocation) and its current transaction.
enum class Step : std::uint8_t {
  kIdle,
  kChallenge,
  kAllocate,
  kPermission,
  kChannel,
  kReady,
  kRefresh,
  kDelete,
  kClosed,
  kFailed
};
// What follows a successful Allocate.
enum class Next : std::uint8_t { kHold, kPermission, kChannel, kDelete };
enum class Action : std::uint8_t { kAllocate, kRefresh, kDelete };

struct Client {
  int fd = -1;
  std::uint16_t port = 0;
  Step step = Step::kIdle;
  bool busy = false;  // a transaction is outstanding
  TransactionId tid{};
  std::array<std::uint8_t, 512> req{};
  std::size_t req_len = 0;
  std::uint64_t sent_ns = 0;         // last (re)transmission
  std::uint64_t step_start_ns = 0;   // first transmission of this request
  std::uint64_t dance_start_ns = 0;  // the unauthenticated Allocate
  int retries = 0;
  std::string nonce;
  TransportAddress relayed{};
  std::uint16_t channel = 0;
  // data phase
  std::uint64_t seq = 0;
  std::uint64_t scheduled = 0;  // rate mode: packets due so far
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t written_off = 0;  // closed loop: given up as lost to reopen the window
  std::uint64_t last_progress_ns = 0;
  double phase = 0;
  SSL* ssl = nullptr;  // --transport tls
  // TCP: bytes received but not yet a whole frame, and bytes the kernel did not take yet.
  std::vector<std::uint8_t> stream_in;
  std::vector<std::uint8_t> stream_out;
};

struct ProcSample {
  std::optional<double> cpu;
  std::optional<std::uint64_t> rss;
  double self_cpu = 0;
  std::uint64_t at = 0;
};

class Bench {
 public:
  explicit Bench(Options o) : opt_(std::move(o)), rng_(std::random_device{}()) {
    creds_.username = opt_.user;
    creds_.password = opt_.password;
    peer_ = to_transport(make_sockaddr(opt_.peer_ip, opt_.peer_port));
    client_bind_ = make_sockaddr("127.0.0.1", 0);
    client_bind_.sin_addr = opt_.server.sin_addr;  // same address family and loopback
    if (!opt_.client_netns.empty()) client_bind_.sin_addr.s_addr = INADDR_ANY;
  }
  ~Bench() {
    for (auto& c : clients_) close_client(c);
    for (const int fd : peer_fds_) ::close(fd);
    if (epoll_ >= 0) ::close(epoll_);
  }

  int run() {
    Json j;
    j.field("tool", "tern_bench").field("mode", opt_.mode).field("label", opt_.label);
    j.field("shape", opt_.shape).field("round", opt_.round).field("server", opt_.server_text);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);  // precise pacing wake-ups
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    fd_limit_ = raise_fd_limit();
    bool ok = false;
    if (epoll_ < 0) {
      error_ = "epoll_create1 failed";
    } else if (opt_.mode == "relay" || opt_.mode.starts_with("raw")) {
      ok = mode_relay(j);
    } else if (opt_.mode == "allocate") {
      ok = mode_allocate(j);
    } else if (opt_.mode == "binding") {
      ok = mode_binding(j);
    } else {
      ok = mode_idle(j);
    }
    write_requests(j);
    j.field("socket_open_failures", open_failures_).field("request_send_errors", send_errors_);
    j.field("transport", opt_.tls   ? "tls"
                         : opt_.tcp ? "tcp"
                                    : "udp")
        .field("streams_closed", streams_closed_);
    j.field("ok", ok);
    if (!ok) j.field("error", error_.empty() ? std::string("no numbers") : error_);
    std::printf("%s\n", j.str().c_str());
    std::fflush(stdout);
    return ok ? 0 : 1;
  }

 private:
  // ---- processes and sockets -------------------------------------------------------------

  ProcSample sample() const {
    ProcSample s;
    if (opt_.server_pid > 0) {
      s.cpu = process_cpu_seconds(opt_.server_pid);
      s.rss = process_rss_kib(opt_.server_pid);
    }
    s.self_cpu = self_cpu_seconds();
    s.at = now_ns();
    return s;
  }

  // Writes server CPU and generator CPU over [a, b]; returns the server's CPU seconds, if known.
  std::optional<double> write_cpu(Json& j, const ProcSample& a, const ProcSample& b) const {
    const double wall = ns_to_secs(b.at - a.at);
    j.field("wall_s", wall);
    std::optional<double> cpu;
    if (a.cpu && b.cpu) {
      cpu = *b.cpu - *a.cpu;
      j.field("server_cpu_s", *cpu);
      j.field("server_cpu_util", wall > 0 ? *cpu / wall : 0.0);
    } else {
      j.null_field("server_cpu_s");
    }
    j.field("generator_cpu_s", b.self_cpu - a.self_cpu);
    j.field("generator_cpu_util", wall > 0 ? (b.self_cpu - a.self_cpu) / wall : 0.0);
    return cpu;
  }

  // The echo peers (epoll ids kPeerId, kPeerId - 1, ...).
  bool open_peer(bool echo) {
    echo_ = echo;
    const int buffer = opt_.peers > 1 ? 1 << 20 : 16 << 20;
    for (std::size_t k = 0; k < opt_.peers; ++k) {  // with --peer-port P: ports P, P+1, ...
      const auto port = static_cast<std::uint16_t>(opt_.peer_port == 0 ? 0 : opt_.peer_port + k);
      const auto local = make_sockaddr(opt_.peer_ip, port);
      const int fd = in_netns(opt_.peer_netns, [&] { return open_udp(local, nullptr, buffer); });
      if (fd < 0) {
        error_ = "cannot bind the peer socket on " + opt_.peer_ip + ":" + std::to_string(port) +
                 ": " + std::strerror(errno);
        return false;
      }
      TransportAddress address = peer_;
      address.port = local_port(fd);
      peer_fds_.push_back(fd);
      peers_.push_back(address);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kPeerId - k;
      epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
    peer_ = peers_.front();
    return true;
  }

  // Client c's peer: one of the echo peers, by its index.
  const TransportAddress& peer_of(const Client& c) const {
    return peers_[static_cast<std::size_t>(&c - clients_.data()) % peers_.size()];
  }

  // Where client `index` binds: the default address, or with --clients-per-ip one of
  // 127.1.0.1, 127.1.0.2, ... (loopback has the whole 127/8).
  sockaddr_in client_bind(std::size_t index) const {
    sockaddr_in a = client_bind_;
    if (opt_.clients_per_ip == 0) return a;
    const auto k = static_cast<std::uint32_t>(index / opt_.clients_per_ip + 1 + opt_.first_ip);
    a.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | k);
    return a;
  }

  bool open_client(Client& c, std::size_t index) {
    const sockaddr_in bind_to = client_bind(index);
    // Many clients: small buffers, or the tool's sockets alone take gigabytes.
    const int sockbuf = index >= 1000 ? std::min(opt_.sockbuf, 65536) : opt_.sockbuf;
    c.fd = in_netns(opt_.client_netns, [&] {
      return opt_.tcp ? open_tcp(bind_to, opt_.server, sockbuf)
                      : open_udp(bind_to, &opt_.server, sockbuf);
    });
    if (c.fd >= 0 && opt_.tls) {  // a blocking handshake: on loopback it takes a millisecond
      set_non_blocking(c.fd, false);
      c.ssl = tls_.connect(c.fd);
      if (c.ssl == nullptr || !set_non_blocking(c.fd, true)) {
        close_client(c);
        ++open_failures_;
        if (error_.empty()) error_ = "TLS handshake failed";
        return false;
      }
    }
    if (c.fd < 0) {
      ++open_failures_;
      if (error_.empty())
        error_ = std::string("cannot open a client socket: ") + std::strerror(errno);
      return false;
    }
    c.port = local_port(c.fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
  }

  void close_client(Client& c) {
    if (c.ssl != nullptr) tls_free(c.ssl);
    c.ssl = nullptr;
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.stream_in.clear();
    c.stream_out.clear();
  }

  // One write on a stream client: bytes taken, 0 when it would block, -1 when it failed.
  static ssize_t stream_send_some(Client& c, const std::uint8_t* data, std::size_t size) {
    if (c.ssl != nullptr) return tls_write(c.ssl, data, size);
    for (;;) {
      const ssize_t n = ::send(c.fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
  }

  // One read on a stream client: bytes read, 0 when nothing is waiting, -1 when it closed.
  static ssize_t stream_receive_some(Client& c, std::uint8_t* data, std::size_t size) {
    if (c.ssl != nullptr) return tls_read(c.ssl, data, size);
    for (;;) {
      const ssize_t n = ::recv(c.fd, data, size, MSG_DONTWAIT);
      if (n > 0) return n;
      if (n == 0) return -1;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
  }

  // TCP: writes what is still queued, then `bytes`; keeps what the kernel refuses for later.
  // False when the connection failed.
  bool stream_write(Client& c, std::span<const std::uint8_t> bytes) {
    const bool queued = !c.stream_out.empty();
    if (queued) c.stream_out.insert(c.stream_out.end(), bytes.begin(), bytes.end());
    const std::span<const std::uint8_t> todo = queued ? std::span(c.stream_out) : bytes;
    std::size_t done = 0;
    while (done < todo.size()) {
      const ssize_t n = stream_send_some(c, todo.data() + done, todo.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n == 0) break;  // the kernel (or TLS) takes no more for now
      c.stream_out.clear();
      return false;
    }
    if (queued) {
      c.stream_out.erase(c.stream_out.begin(), c.stream_out.begin() + static_cast<long>(done));
    } else {
      c.stream_out.assign(todo.begin() + static_cast<long>(done), todo.end());
    }
    return true;
  }

  // ---- TURN transactions -----------------------------------------------------------------

  void transmit(Client& c, std::uint64_t now) {
    c.sent_ns = now;
    if (opt_.tcp) {
      // TCP is reliable: a retransmission only pushes out what the kernel did not take yet.
      const auto req = c.retries > 0 ? std::span<const std::uint8_t>()
                                     : std::span<const std::uint8_t>(c.req.data(), c.req_len);
      if (!stream_write(c, req)) ++send_errors_;
      return;
    }
    if (::send(c.fd, c.req.data(), c.req_len, MSG_DONTWAIT) < 0) ++send_errors_;
  }

  void begin(Client& c, Step step, std::uint64_t now) {
    c.step = step;
    c.busy = true;
    c.retries = 0;
    c.step_start_ns = now;
    c.tid = random_tid(rng_);
    creds_.nonce = c.nonce;
    std::span<std::uint8_t> out(c.req);
    switch (step) {
      case Step::kChallenge:
        c.dance_start_ns = now;
        c.req_len = build_allocate(out, c.tid, nullptr);
        break;
      case Step::kAllocate:
        c.req_len = build_allocate(out, c.tid, &creds_);
        break;
      case Step::kPermission:
        c.req_len = build_create_permission(out, c.tid, creds_, peer_of(c));
        break;
      case Step::kChannel:
        c.req_len = build_channel_bind(out, c.tid, creds_, c.channel, peer_of(c));
        break;
      case Step::kRefresh:
        c.req_len = build_refresh(out, c.tid, creds_, opt_.lifetime);
        break;
      case Step::kDelete:
        c.req_len = build_refresh(out, c.tid, creds_, 0);
        break;
      default:
        break;
    }
    transmit(c, now);
  }

  void start(std::size_t index, Action action, std::uint64_t now) {
    Client& c = clients_[index];
    ++inflight_;
    c.busy = true;
    switch (action) {
      case Action::kAllocate:
        if (c.fd < 0 && !open_client(c, index)) {
          fail(index, 1, now);  // 1: socket error
          return;
        }
        begin(c, Step::kChallenge, now);
        break;
      case Action::kRefresh:
        begin(c, Step::kRefresh, now);
        break;
      case Action::kDelete:
        begin(c, Step::kDelete, now);
        break;
    }
  }

  void pump(std::uint64_t now) {
    while (inflight_ < opt_.inflight && !pending_.empty()) {
      auto [index, action] = pending_.front();
      pending_.pop_front();
      start(index, action, now);
    }
  }

  // The client's transaction is over; it rests in `step` until given another action.
  void rest(std::size_t index, Step step, std::uint64_t now) {
    Client& c = clients_[index];
    c.step = step;
    c.busy = false;
    --inflight_;
    if (step == Step::kReady) ++settled_ready_;
    if (step == Step::kFailed) ++settled_failed_;
    if (step == Step::kClosed) ++closed_;
    if (recycle_ && (step == Step::kClosed || step == Step::kFailed) && now < recycle_until_) {
      close_client(c);
      c.nonce.clear();
      pending_.emplace_back(index, Action::kAllocate);
    }
  }

  void fail(std::size_t index, std::uint16_t code, std::uint64_t now) {
    Client& c = clients_[index];
    ++failures_[std::to_string(code == 0 ? 408 : code) + "@" + step_name(c.step)];
    close_client(c);
    rest(index, Step::kFailed, now);
  }

  static const char* step_name(Step s) {
    switch (s) {
      case Step::kChallenge:
        return "allocate-401";
      case Step::kAllocate:
        return "allocate";
      case Step::kPermission:
        return "create-permission";
      case Step::kChannel:
        return "channel-bind";
      case Step::kRefresh:
        return "refresh";
      case Step::kDelete:
        return "delete";
      default:
        return "other";
    }
  }

  void on_allocated(std::size_t index, const Response& r, std::uint64_t now) {
    Client& c = clients_[index];
    ++allocated_;
    alloc_dance_.add(now - c.dance_start_ns);
    alloc_signed_.add(now - c.step_start_ns);
    if (r.relayed) c.relayed = *r.relayed;
    switch (after_allocate_) {
      case Next::kHold:
        rest(index, Step::kReady, now);
        break;
      case Next::kPermission:
        begin(c, Step::kPermission, now);
        break;
      case Next::kChannel:
        begin(c, Step::kChannel, now);
        break;
      case Next::kDelete:
        begin(c, Step::kDelete, now);
        break;
    }
  }

  void on_response(std::size_t index, const Response& r, std::uint64_t now) {
    Client& c = clients_[index];
    if (!c.busy || r.tid != c.tid) return;  // late answer to a retransmission
    const bool stale = r.error == 438 && r.nonce.has_value();
    if (stale) {
      ++stale_nonces_;
      c.nonce = *r.nonce;
    }
    switch (c.step) {
      case Step::kChallenge:
        if (r.success) return on_allocated(index, r, now);  // a server without authentication
        if (r.error == 401 && r.realm && r.nonce) {
          creds_.set_realm(*r.realm);
          c.nonce = *r.nonce;
          begin(c, Step::kAllocate, now);
          return;
        }
        return fail(index, r.error, now);
      case Step::kAllocate:
        if (r.success) return on_allocated(index, r, now);
        if (stale) return begin(c, Step::kAllocate, now);
        return fail(index, r.error, now);
      case Step::kPermission:
      case Step::kChannel:
      case Step::kRefresh:
        if (r.success) return rest(index, Step::kReady, now);
        if (stale) return begin(c, c.step, now);
        return fail(index, r.error, now);
      case Step::kDelete:
        if (r.success || r.error == 437) {
          close_client(c);
          return rest(index, Step::kClosed, now);
        }
        if (stale) return begin(c, Step::kDelete, now);
        return fail(index, r.error, now);
      default:
        return;
    }
  }

  void check_timeouts(std::uint64_t now) {
    const std::uint64_t rto = secs_to_ns(opt_.rto);
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      Client& c = clients_[i];
      if (!c.busy || c.fd < 0 || c.step == Step::kReady) continue;
      if (now - c.sent_ns < (rto << c.retries)) continue;
      if (c.retries >= opt_.max_retries) {
        fail(i, 0, now);
        continue;
      }
      ++c.retries;
      ++retransmits_;
      transmit(c, now);
    }
  }

  // ---- the event loop --------------------------------------------------------------------

  // Runs until `done()` or the deadline; false on the deadline.
  bool run_until(const std::function<bool()>& done, std::uint64_t deadline) {
    std::array<epoll_event, 512> events{};
    std::uint64_t last_check = now_ns();
    while (!done()) {
      std::uint64_t now = now_ns();
      if (now >= deadline) return false;
      pump(now);
      std::uint64_t timeout = data_active_ || !pending_.empty() ? kMs : 5 * kMs;
      if (data_active_) {
        send_due(now);
        // Paced sends wake exactly when the next packet is due (timer slack is 1 ns), so
        // packets reach the server spread out as from independent clients, not in ticks.
        if (opt_.rate > 0) {
          now = now_ns();
          timeout = next_due_ns_ > now ? std::min(next_due_ns_ - now, kMs) : 0;
        }
      }
      timespec ts{static_cast<time_t>(timeout / kSec), static_cast<long>(timeout % kSec)};
      const int n =
          epoll_pwait2(epoll_, events.data(), static_cast<int>(events.size()), &ts, nullptr);
      now = now_ns();
      for (int i = 0; i < n; ++i) {
        const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
        if (id > kPeerId - peer_fds_.size()) {
          drain_peer(peer_fds_[kPeerId - id], now);
        } else if (id < clients_.size()) {
          drain_client(id, now);
        }
      }
      if (now - last_check >= 50 * kMs) {
        check_timeouts(now);
        last_check = now;
      }
    }
    return true;
  }

  void drain_client(std::size_t index, std::uint64_t now) {
    if (opt_.tcp) return drain_stream(index, now);
    for (int round = 0; round < 8; ++round) {
      Client& c = clients_[index];
      if (c.fd < 0) return;
      rx_.arm_receive(false);
      const int n = recvmmsg(c.fd, rx_.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        const auto k = static_cast<std::size_t>(i);
        on_client_datagram(
            index, std::span<const std::uint8_t>(rx_.data[k].data(), rx_.hdr[k].msg_len), now);
      }
      if (static_cast<std::size_t>(n) < kBatch) return;
    }
  }

  // TCP: reads what arrived and hands every whole frame (STUN or padded ChannelData) on.
  void drain_stream(std::size_t index, std::uint64_t now) {
    for (int round = 0; round < 8; ++round) {
      Client& c = clients_[index];
      if (c.fd < 0) return;
      const ssize_t n = stream_receive_some(c, stream_buf_.data(), stream_buf_.size());
      if (n < 0) return stream_closed(index, now);
      if (n == 0) return;
      c.stream_in.insert(c.stream_in.end(), stream_buf_.begin(), stream_buf_.begin() + n);
      std::size_t used = 0;
      while (used < c.stream_in.size()) {
        const std::span<const std::uint8_t> rest(c.stream_in.data() + used,
                                                 c.stream_in.size() - used);
        const auto size = protocol::next_frame_size(rest);
        if (!size) return stream_closed(index, now);
        if (*size == 0 || *size > rest.size()) break;
        on_client_datagram(index, rest.first(*size), now);
        if (clients_[index].fd < 0) return;  // the frame ended this client
        used += *size;
      }
      c.stream_in.erase(c.stream_in.begin(), c.stream_in.begin() + static_cast<long>(used));
      // A short TCP read emptied the socket; TLS reads one record at a time, so it goes on.
      if (c.ssl == nullptr && static_cast<std::size_t>(n) < stream_buf_.size()) return;
    }
  }

  void stream_closed(std::size_t index, std::uint64_t now) {
    Client& c = clients_[index];
    ++streams_closed_;
    if (c.busy) return fail(index, 2, now);  // 2: connection closed
    close_client(c);
  }

  void on_client_datagram(std::size_t index, std::span<const std::uint8_t> bytes,
                          std::uint64_t now) {
    if (raw_) return on_payload(bytes, now);  // rawecho: the peer's echo, as it was sent
    if (bytes.size() < 4) return;
    const std::uint8_t first = bytes[0];
    if ((first & 0xC0) == 0x40) {  // ChannelData (RFC 8656 §12.4)
      const std::size_t len =
          std::min<std::size_t>((std::size_t{bytes[2]} << 8) | bytes[3], bytes.size() - 4);
      on_payload(bytes.subspan(4, len), now);
      return;
    }
    if ((first & 0xC0) != 0) return;
    if ((bytes[1] & 0x10) != 0 && (bytes[0] & 0x01) == 0) {
      // An indication: a Data indication carries relayed data.
      if (auto data = data_indication_payload(bytes)) on_payload(*data, now);
      return;
    }
    if (auto r = parse_response(bytes)) {
      if (opt_.mode == "binding") return on_binding_response(index, *r, now);
      on_response(index, *r, now);
    }
  }

  // ---- the data phase --------------------------------------------------------------------

  void on_payload(std::span<const std::uint8_t> p, std::uint64_t now) {
    if (p.size() < kStamp) {
      ++malformed_;
      return;
    }
    std::uint32_t magic = 0;
    std::uint32_t index = 0;
    std::uint64_t sent_at = 0;
    std::memcpy(&magic, p.data(), 4);
    std::memcpy(&index, p.data() + 4, 4);
    std::memcpy(&sent_at, p.data() + 16, 8);
    if (magic != kMagic || index >= clients_.size()) {
      ++malformed_;
      return;
    }
    Client& c = clients_[index];
    ++c.received;
    c.last_progress_ns = now;
    ++received_;
    last_rx_ns_ = now;
    if (now >= sent_at) rtt_.add(now - sent_at);
  }

  void drain_peer(int peer_fd, std::uint64_t now) {
    for (int round = 0; round < 16; ++round) {
      peer_rx_.arm_receive(echo_);
      const int n = recvmmsg(peer_fd, peer_rx_.hdr.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) return;
      const auto count = static_cast<std::size_t>(n);
      if (!echo_) {  // raw mode: the forwarder's destination, a sink
        for (std::size_t i = 0; i < count; ++i) {
          on_payload(
              std::span<const std::uint8_t>(peer_rx_.data[i].data(), peer_rx_.hdr[i].msg_len), now);
        }
      } else {
        peer_received_ += count;
        for (std::size_t i = 0; i < count; ++i) {
          peer_rx_.iov[i].iov_len = peer_rx_.hdr[i].msg_len;
          peer_rx_.hdr[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        }
        std::size_t done = 0;
        while (done < count) {
          done += send_batch(peer_fd, peer_rx_.hdr.data() + done, count - done);
          if (done < count) {
            ++peer_echo_failed_;  // refused by the kernel: skip it, as a real peer would lose it
            ++done;
          }
        }
      }
      if (count < kBatch) return;
    }
  }

  void stamp(std::uint8_t* p, std::uint32_t index, std::uint64_t seq, std::uint64_t now) const {
    std::memcpy(p, &kMagic, 4);
    std::memcpy(p + 4, &index, 4);
    std::memcpy(p + 8, &seq, 8);
    std::memcpy(p + 16, &now, 8);
  }

  // When client c's next paced packet is due (its packet k is due at (k - phase) / rate).
  std::uint64_t due_ns(const Client& c) const {
    const double at = (static_cast<double>(c.scheduled + 1) - c.phase) / per_client_rate_;
    return data_start_ns_ + secs_to_ns(std::max(at, 0.0));
  }

  void send_due(std::uint64_t now) {
    const std::uint64_t stall = 100 * kMs;
    next_due_ns_ = ~std::uint64_t{0};
    for (std::size_t index = 0; index < data_clients_; ++index) {
      Client& c = clients_[index];
      if (c.step != Step::kReady || c.fd < 0) continue;
      if (opt_.tcp && !c.stream_out.empty()) (void)stream_write(c, {});  // the rest of a write
      std::size_t n = 0;
      if (opt_.rate > 0) {
        const double elapsed = ns_to_secs(now - data_start_ns_);
        const auto target = static_cast<std::uint64_t>(elapsed * per_client_rate_ + c.phase);
        if (target <= c.scheduled) {
          next_due_ns_ = std::min(next_due_ns_, due_ns(c));
          continue;
        }
        std::uint64_t gap = target - c.scheduled;
        if (gap > 4 * kBatch) {  // the generator fell behind: skip rather than burst
          skipped_ += gap - kBatch;
          c.scheduled = target - kBatch;
          gap = kBatch;
        }
        n = static_cast<std::size_t>(std::min<std::uint64_t>(gap, kBatch));
      } else {
        const std::uint64_t done = c.received + c.written_off;
        std::uint64_t outstanding = c.sent > done ? c.sent - done : 0;
        if (outstanding >= opt_.window) {
          if (now - c.last_progress_ns < stall) continue;
          c.written_off += outstanding;  // lost: reopen the window (loss is counted at the end)
          ++stalls_;
          c.last_progress_ns = now;
          outstanding = 0;
        }
        n = std::min<std::size_t>(opt_.window - outstanding, kBatch);
      }
      if (opt_.packets > 0) {
        const std::uint64_t base = opt_.rate > 0 ? c.scheduled : c.sent;
        if (base >= opt_.packets) continue;
        n = static_cast<std::size_t>(std::min<std::uint64_t>(n, opt_.packets - base));
      }
      if (n == 0) continue;
      if (opt_.tcp && c.stream_out.size() > kStreamBacklog) continue;  // the server is behind
      fill(c, static_cast<std::uint32_t>(index), n, now);
      const std::size_t k = opt_.tcp ? stream_send(c, n) : send_batch(c.fd, tx_.hdr.data(), n);
      if (opt_.rate > 0) {
        c.scheduled += n;
        send_failed_ += n - k;
        next_due_ns_ = std::min(next_due_ns_, due_ns(c));
      }
      c.seq += k;
      c.sent += k;
      sent_ += k;
      if (c.sent == k) c.last_progress_ns = now;
    }
  }

  // TCP: the n prepared packets as one write (ChannelData padded to 4 bytes, RFC 8656 §12.5).
  std::size_t stream_send(Client& c, std::size_t n) {
    std::vector<std::uint8_t>& buf = stream_buf_;
    std::size_t len = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t size = tx_.iov[i].iov_len;
      std::memcpy(buf.data() + len, tx_.data[i].data(), size);
      len += (size + 3) & ~std::size_t{3};
    }
    return stream_write(c, std::span(buf.data(), len)) ? n : 0;
  }

  // Prepares n data packets of client `index` in tx_ (ChannelData, Send indication or raw).
  void fill(Client& c, std::uint32_t index, std::size_t n, std::uint64_t now) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint8_t* d = tx_.data[i].data();
      const std::uint64_t seq = c.seq + i;
      std::size_t len = opt_.size;
      if (raw_) {
        stamp(d, index, seq, now);
      } else if (!opt_.send) {
        protocol::write_channel_data_header(d, c.channel, static_cast<std::uint16_t>(opt_.size));
        stamp(d + 4, index, seq, now);
        len += 4;
      } else {
        std::array<std::uint8_t, kMaxPayload> payload{};
        stamp(payload.data(), index, seq, now);
        TransactionId tid{};
        std::memcpy(tid.data(), &index, 4);
        std::memcpy(tid.data() + 4, &seq, 8);
        len = build_send_indication(std::span(tx_.data[i]), tid, peer_of(c),
                                    std::span<const std::uint8_t>(payload.data(), opt_.size));
      }
      tx_.arm_send(i, len, false);
    }
  }

  // ---- modes -----------------------------------------------------------------------------

  std::uint64_t setup_deadline() const { return now_ns() + secs_to_ns(opt_.setup_timeout); }

  // Allocates (and binds) every client with opt_.inflight dances in flight.
  bool setup_clients(std::size_t count, Next next) {
    clients_.resize(count);
    after_allocate_ = next;
    for (std::size_t i = 0; i < count; ++i) {
      clients_[i].channel = static_cast<std::uint16_t>(protocol::kMinChannel + i % 0x1000);
      pending_.emplace_back(i, Action::kAllocate);
    }
    const bool finished =
        run_until([&] { return settled_ready_ + settled_failed_ >= count && inflight_ == 0; },
                  setup_deadline());
    if (!finished) error_ = "setup did not finish in time";
    return settled_ready_ > 0;
  }

  // Deletes every ready allocation (Refresh with LIFETIME 0), bounded in time.
  void teardown() {
    std::size_t want = 0;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i].step == Step::kReady && clients_[i].fd >= 0) {
        pending_.emplace_back(i, Action::kDelete);
        ++want;
      }
    }
    const std::size_t closed_before = closed_;
    const std::size_t failed_before = settled_failed_;
    run_until([&] { return closed_ + settled_failed_ - closed_before - failed_before >= want; },
              now_ns() + secs_to_ns(std::min(opt_.setup_timeout, 10.0)));
    for (auto& c : clients_) close_client(c);
  }

  void write_setup(Json& j, const char* key) {
    j.begin(key);
    j.field("allocations", allocated_).field("ready", settled_ready_);
    j.field("failed", settled_failed_).field("retransmits", retransmits_);
    j.field("stale_nonces", stale_nonces_);
    j.end();
  }

  void write_requests(Json& j) {
    j.begin("failures");
    for (const auto& [k, v] : failures_) j.field(k, v);
    j.end();
  }

  std::set<std::uint16_t> tool_ports() const {
    std::set<std::uint16_t> ports;
    for (const auto& c : std::span(clients_).first(data_clients_)) {
      if (c.port != 0) ports.insert(c.port);
    }
    for (const auto& p : peers_) ports.insert(p.port);
    return ports;
  }

  std::set<std::uint16_t> server_ports() const {
    std::set<std::uint16_t> ports{ntohs(opt_.server.sin_port)};
    for (const auto& c : std::span(clients_).first(data_clients_)) {
      if (c.relayed.port != 0) ports.insert(c.relayed.port);
    }
    return ports;
  }

  bool mode_relay(Json& j) {
    raw_ = opt_.mode.starts_with("raw");
    if (!open_peer(opt_.mode != "raw")) return false;
    j.field("clients", static_cast<std::uint64_t>(opt_.clients));
    j.field("size", static_cast<std::uint64_t>(opt_.size));
    j.field("channel_data", !raw_ && !opt_.send);
    j.field("rate_offered", opt_.rate);
    j.field("window", static_cast<std::uint64_t>(opt_.window));
    if (raw_) {
      clients_.resize(opt_.clients);
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        if (!open_client(clients_[i], i)) return false;
        clients_[i].step = Step::kReady;
        ++settled_ready_;
      }
    } else {
      const bool ready =
          setup_clients(opt_.clients, opt_.send ? Next::kPermission : Next::kChannel);
      write_setup(j, "setup");
      if (!ready) {
        if (error_.empty()) error_ = "no client got an allocation";
        return false;
      }
    }
    if (!data_phase(j, clients_.size())) return false;
    if (!raw_) teardown();
    if (received_ == 0) {
      error_ = "nothing came back";
      return false;
    }
    return true;
  }

  // Sends data from the first `limit` clients (those ready) for --duration, paced at --rate in
  // total or closed loop, and reports what was relayed, lost and spent.
  bool data_phase(Json& j, std::size_t limit) {
    data_clients_ = std::min(limit, clients_.size());
    std::size_t active = 0;
    for (std::size_t i = 0; i < data_clients_; ++i) {
      active += clients_[i].step == Step::kReady ? 1 : 0;
    }
    if (active == 0) {
      error_ = "no client ready to send";
      return false;
    }
    per_client_rate_ = opt_.rate / static_cast<double>(active);
    std::size_t k = 0;
    for (std::size_t i = 0; i < data_clients_; ++i) {
      Client& c = clients_[i];
      if (c.step != Step::kReady) continue;
      c.phase = static_cast<double>(k++) / static_cast<double>(active);  // spread the clients
    }

    const auto tool = tool_ports();
    const auto server = server_ports();
    const auto tool_drops0 = udp_socket_drops(tool);
    const auto server_drops0 = udp_socket_drops(server);
    const std::set<std::uint16_t> listener{ntohs(opt_.server.sin_port)};
    const auto listener_drops0 = udp_socket_drops(listener);
    const auto snmp0 = udp_counters();
    if (!hook(j, "before_data_status", opt_.before_data)) return false;
    const ProcSample s0 = sample();
    data_start_ns_ = s0.at;
    data_active_ = true;
    run_until([&] { return all_sent(); }, data_start_ns_ + secs_to_ns(opt_.duration));
    data_active_ = false;
    const std::uint64_t send_end = now_ns();
    run_until([&] { return all_answered(); }, send_end + secs_to_ns(opt_.drain));
    const ProcSample s1 = sample();
    if (!hook(j, "after_data_status", opt_.after_data)) return false;
    const auto snmp1 = udp_counters();
    const auto tool_drops = udp_socket_drops(tool) - tool_drops0;
    const auto server_drops = udp_socket_drops(server) - server_drops0;
    const auto listener_drops = udp_socket_drops(listener) - listener_drops0;

    const double send_secs = ns_to_secs(send_end - data_start_ns_);
    const double active_secs = ns_to_secs(std::max(last_rx_ns_, send_end) - data_start_ns_);
    const std::uint64_t relayed = received_ + (echo_ ? peer_received_ : 0);
    j.field("active_clients", static_cast<std::uint64_t>(active));
    j.field("send_s", send_secs);
    j.field("sent", sent_).field("send_failed", send_failed_).field("skipped", skipped_);
    j.field("offered_rate_achieved", send_secs > 0 ? static_cast<double>(sent_) / send_secs : 0.0);
    if (echo_)
      j.field("peer_received", peer_received_).field("peer_echo_failed", peer_echo_failed_);
    j.field("received", received_).field("malformed", malformed_).field("stalls", stalls_);
    const std::uint64_t lost = sent_ > received_ ? sent_ - received_ : 0;
    j.field("lost", lost);
    j.field("loss_ratio", sent_ > 0 ? static_cast<double>(lost) / static_cast<double>(sent_) : 0.0);
    if (echo_) {
      const std::uint64_t lost_out = sent_ > peer_received_ ? sent_ - peer_received_ : 0;
      j.field("lost_to_peer", lost_out);
    }
    j.field("relayed_packets", relayed);
    j.field("relayed_pps", active_secs > 0 ? static_cast<double>(relayed) / active_secs : 0.0);
    const auto cpu = write_cpu(j, s0, s1);
    if (cpu && *cpu > 0) {
      j.field("relayed_per_cpu_s", static_cast<double>(relayed) / *cpu);
    } else {
      j.null_field("relayed_per_cpu_s");
    }
    if (s1.rss) j.field("server_rss_kib", *s1.rss);
    j.latency(echo_ ? "rtt_us" : "one_way_us", rtt_);
    j.field("tool_socket_drops", tool_drops).field("server_socket_drops", server_drops);
    // Of those, the listener's (clients to tern) and the relays' (peers to tern).
    j.field("server_listener_drops", listener_drops)
        .field("server_relay_drops", server_drops - listener_drops);
    j.field("udp_rcvbuf_errors", snmp1.rcvbuf_errors - snmp0.rcvbuf_errors);
    j.field("udp_sndbuf_errors", snmp1.sndbuf_errors - snmp0.sndbuf_errors);
    return true;
  }

  // Runs a --before-data/--after-data command; false (and the error set) if it failed.
  bool hook(Json& j, const char* key, const std::string& command) {
    if (command.empty()) return true;
    const int status = std::system(command.c_str());
    j.field(key, status);
    if (status != 0) error_ = std::string(key) + " command failed: " + command;
    return status == 0;
  }

  // With --packets: every client has sent its share.
  bool all_sent() const {
    if (opt_.packets == 0) return false;
    for (std::size_t i = 0; i < data_clients_; ++i) {
      const Client& c = clients_[i];
      if (c.step == Step::kReady && c.sent < opt_.packets) return false;
    }
    return true;
  }

  bool all_answered() const {
    for (std::size_t i = 0; i < data_clients_; ++i) {
      const Client& c = clients_[i];
      if (c.step == Step::kReady && c.received < c.sent) return false;
    }
    return true;
  }

  bool mode_allocate(Json& j) {
    if (!open_peer(true)) return false;
    const std::size_t slots = opt_.inflight;
    clients_.resize(slots);
    after_allocate_ = Next::kDelete;
    recycle_ = true;
    j.field("inflight", static_cast<std::uint64_t>(slots));
    const ProcSample s0 = sample();
    recycle_until_ = s0.at + secs_to_ns(opt_.duration);
    for (std::size_t i = 0; i < slots; ++i) pending_.emplace_back(i, Action::kAllocate);
    const bool finished =
        run_until([&] { return now_ns() >= recycle_until_ && inflight_ == 0 && pending_.empty(); },
                  recycle_until_ + secs_to_ns(opt_.drain + opt_.rto * 8));
    const ProcSample s1 = sample();
    recycle_ = false;
    if (!finished) error_ = "allocations still in flight at the deadline";
    const double wall = ns_to_secs(s1.at - s0.at);
    j.field("allocations", allocated_).field("deleted", closed_);
    j.field("failed", settled_failed_).field("retransmits", retransmits_);
    j.field("stale_nonces", stale_nonces_);
    j.field("allocations_per_s", wall > 0 ? static_cast<double>(allocated_) / wall : 0.0);
    const auto cpu = write_cpu(j, s0, s1);
    if (cpu && *cpu > 0 && allocated_ > 0) {
      j.field("allocations_per_cpu_s", static_cast<double>(allocated_) / *cpu);
      j.field("cpu_us_per_allocation", *cpu * 1e6 / static_cast<double>(allocated_));
    } else {
      j.null_field("allocations_per_cpu_s");
    }
    j.latency("allocate_us", alloc_dance_);
    j.latency("allocate_signed_us", alloc_signed_);
    for (auto& c : clients_) close_client(c);
    if (allocated_ == 0) {
      if (error_.empty()) error_ = "no allocation succeeded";
      return false;
    }
    return finished;
  }

  bool mode_idle(Json& j) {
    if (!open_peer(true)) return false;
    j.field("allocations_wanted", static_cast<std::uint64_t>(opt_.clients));
    j.field("with_channel", opt_.idle_channel);
    j.field("fd_limit", static_cast<std::uint64_t>(fd_limit_));
    const ProcSample s0 = sample();
    const bool ready =
        setup_clients(opt_.clients, opt_.idle_channel ? Next::kChannel : Next::kHold);
    const ProcSample s1 = sample();
    write_setup(j, "setup");
    if (!ready) {
      if (error_.empty()) error_ = "no client got an allocation";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const ProcSample s2 = sample();
    // Refresh every allocation, as a live client does, and look again.
    std::size_t want = 0;
    for (std::size_t i = 0; i < clients_.size(); ++i) {
      if (clients_[i].step != Step::kReady) continue;
      pending_.emplace_back(i, Action::kRefresh);
      ++want;
    }
    const std::size_t ready_before = settled_ready_;
    const std::size_t failed_before = settled_failed_;
    run_until(
        [&] { return settled_ready_ + settled_failed_ - ready_before - failed_before >= want; },
        setup_deadline());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const ProcSample s3 = sample();
    const std::size_t held = settled_ready_ - ready_before;
    j.field("allocations", static_cast<std::uint64_t>(held));
    j.field("refresh_failed", static_cast<std::uint64_t>(settled_failed_ - failed_before));
    const double wall = ns_to_secs(s1.at - s0.at);
    j.field("setup_allocations_per_s", wall > 0 ? static_cast<double>(allocated_) / wall : 0.0);
    if (s0.cpu && s1.cpu && allocated_ > 0) {
      j.field("setup_cpu_us_per_allocation",
              (*s1.cpu - *s0.cpu) * 1e6 / static_cast<double>(allocated_));
    }
    j.latency("allocate_us", alloc_dance_);
    if (s0.rss && s2.rss && s3.rss) {
      j.begin("server_rss_kib");
      j.field("before", *s0.rss).field("allocated", *s2.rss).field("refreshed", *s3.rss);
      j.end();
      const double delta = (static_cast<double>(*s3.rss) - static_cast<double>(*s0.rss)) * 1024.0;
      j.field("rss_bytes_per_allocation", held > 0 ? delta / static_cast<double>(held) : 0.0);
    } else {
      j.null_field("rss_bytes_per_allocation");
    }
    bool ok = held > 0;
    if (ok && opt_.hold > 0) hold_until(s3.at + secs_to_ns(opt_.hold), held);
    if (ok && opt_.active > 0) {
      j.begin("active");
      ok = data_phase(j, opt_.active);
      j.end();
    }
    if (ok && opt_.hold_allocate > 0) {
      j.begin("hold_allocate");
      ok = hold_allocate(j);
      j.end();
    }
    teardown();
    if (s3.rss) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (auto after = process_rss_kib(opt_.server_pid))
        j.field("server_rss_kib_after_delete", *after);
    }
    return ok;
  }

  // --hold: says how many it holds, then keeps them (answering nothing) until `until` or a
  // SIGTERM/SIGINT.
  void hold_until(std::uint64_t until, std::size_t held) {
    static volatile std::sig_atomic_t stop = 0;
    std::signal(SIGTERM, [](int) { stop = 1; });
    std::signal(SIGINT, [](int) { stop = 1; });
    std::fprintf(stderr, "held %zu\n", held);
    std::fflush(stderr);
    while (stop == 0 && now_ns() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Allocate dances (each deleted again) on --inflight more clients while the others are held.
  bool hold_allocate(Json& j) {
    const std::size_t base = clients_.size();
    clients_.resize(base + opt_.inflight);
    after_allocate_ = Next::kDelete;
    recycle_ = true;
    const std::uint64_t allocated0 = allocated_;
    const std::size_t failed0 = settled_failed_;
    alloc_dance_ = Histogram{};
    const ProcSample s0 = sample();
    recycle_until_ = s0.at + secs_to_ns(opt_.hold_allocate);
    for (std::size_t i = base; i < clients_.size(); ++i)
      pending_.emplace_back(i, Action::kAllocate);
    const bool finished =
        run_until([&] { return now_ns() >= recycle_until_ && inflight_ == 0 && pending_.empty(); },
                  recycle_until_ + secs_to_ns(opt_.drain + opt_.rto * 8));
    const ProcSample s1 = sample();
    recycle_ = false;
    const std::uint64_t made = allocated_ - allocated0;
    const double wall = ns_to_secs(s1.at - s0.at);
    j.field("allocations", made).field("failed", settled_failed_ - failed0);
    j.field("allocations_per_s", wall > 0 ? static_cast<double>(made) / wall : 0.0);
    const auto cpu = write_cpu(j, s0, s1);
    if (cpu && *cpu > 0 && made > 0) {
      j.field("cpu_us_per_allocation", *cpu * 1e6 / static_cast<double>(made));
    }
    j.latency("allocate_us", alloc_dance_);
    for (std::size_t i = base; i < clients_.size(); ++i) close_client(clients_[i]);
    if (!finished) error_ = "allocations still in flight at the deadline";
    return finished && made > 0;
  }

  // Binding: `clients` sockets, each with `window` requests in flight.
  bool mode_binding(Json& j) {
    const std::size_t sockets = opt_.clients;
    const std::size_t window = opt_.window;
    clients_.resize(sockets);
    binding_sent_at_.assign(sockets * window, 0);
    binding_seq_.assign(sockets * window, 0);
    binding_queue_.assign(sockets, 0);
    for (std::size_t i = 0; i < sockets; ++i) {
      if (!open_client(clients_[i], i)) return false;
      clients_[i].step = Step::kReady;
    }
    j.field("sockets", static_cast<std::uint64_t>(sockets))
        .field("window", static_cast<std::uint64_t>(window));
    const ProcSample s0 = sample();
    binding_until_ = s0.at + secs_to_ns(opt_.duration);
    for (std::size_t i = 0; i < sockets; ++i) {
      for (std::size_t w = 0; w < window; ++w) queue_binding(i, w, s0.at);
      flush_bindings(i);
    }
    std::array<epoll_event, 512> events{};
    std::uint64_t last_check = s0.at;
    const std::uint64_t deadline = binding_until_ + secs_to_ns(opt_.drain);
    for (;;) {
      std::uint64_t now = now_ns();
      if (now >= deadline || (now >= binding_until_ && binding_outstanding_ == 0)) break;
      const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 5);
      now = now_ns();
      for (int i = 0; i < n; ++i) {
        const std::uint64_t id = events[static_cast<std::size_t>(i)].data.u64;
        if (id >= clients_.size()) continue;
        drain_client(id, now);
        flush_bindings(id);
      }
      if (now - last_check >= 50 * kMs) {
        last_check = now;
        const std::uint64_t rto = secs_to_ns(opt_.rto);
        for (std::size_t s = 0; s < sockets; ++s) {
          for (std::size_t w = 0; w < window; ++w) {
            const std::uint64_t at = binding_sent_at_[s * window + w];
            if (at == 0 || now - at < rto) continue;
            ++binding_timeouts_;
            --binding_outstanding_;
            binding_sent_at_[s * window + w] = 0;
            if (now < binding_until_) queue_binding(s, w, now);
          }
          flush_bindings(s);
        }
      }
    }
    const ProcSample s1 = sample();
    const double wall = ns_to_secs(s1.at - s0.at);
    j.field("requests_sent", binding_sent_).field("responses", binding_ok_);
    j.field("errors", binding_errors_).field("timeouts", binding_timeouts_);
    j.field("responses_per_s", wall > 0 ? static_cast<double>(binding_ok_) / wall : 0.0);
    const auto cpu = write_cpu(j, s0, s1);
    if (cpu && *cpu > 0) {
      j.field("responses_per_cpu_s", static_cast<double>(binding_ok_) / *cpu);
    } else {
      j.null_field("responses_per_cpu_s");
    }
    j.latency("rtt_us", binding_rtt_);
    if (binding_ok_ == 0) {
      error_ = "no Binding response";
      return false;
    }
    return true;
  }

  void queue_binding(std::size_t s, std::size_t w, std::uint64_t now) {
    const std::size_t slot = s * opt_.window + w;
    const std::uint64_t seq = ++binding_seq_[slot];
    TransactionId tid{};
    const auto w32 = static_cast<std::uint32_t>(w);
    std::memcpy(tid.data(), &w32, 4);
    std::memcpy(tid.data() + 4, &seq, 8);
    if (binding_queue_[s] >= kBatch) flush_bindings(s);
    build_binding(std::span(tx_.data[binding_queue_[s]]), tid);
    ++binding_queue_[s];
    binding_sent_at_[slot] = now;
    ++binding_outstanding_;
  }

  void flush_bindings(std::size_t s) {
    const std::size_t n = binding_queue_[s];
    if (n == 0) return;
    for (std::size_t i = 0; i < n; ++i) tx_.arm_send(i, protocol::kHeaderSize, false);
    const std::size_t k = send_batch(clients_[s].fd, tx_.hdr.data(), n);
    binding_sent_ += k;
    // What the kernel refused stays outstanding and is retried by the timeout.
    binding_queue_[s] = 0;
  }

  void on_binding_response(std::size_t s, const Response& r, std::uint64_t now) {
    std::uint32_t w = 0;
    std::uint64_t seq = 0;
    std::memcpy(&w, r.tid.data(), 4);
    std::memcpy(&seq, r.tid.data() + 4, 8);
    if (w >= opt_.window) return;
    const std::size_t slot = s * opt_.window + w;
    if (binding_seq_[slot] != seq || binding_sent_at_[slot] == 0) return;  // late
    binding_rtt_.add(now - binding_sent_at_[slot]);
    binding_sent_at_[slot] = 0;
    --binding_outstanding_;
    if (r.success && r.mapped) {
      ++binding_ok_;
    } else {
      ++binding_errors_;
    }
    if (now < binding_until_) queue_binding(s, w, now);
  }

  Options opt_;
  std::mt19937_64 rng_;
  Credentials creds_;
  TransportAddress peer_{};
  sockaddr_in client_bind_{};
  int epoll_ = -1;
  std::vector<int> peer_fds_;
  std::vector<TransportAddress> peers_;
  bool echo_ = true;
  bool raw_ = false;
  unsigned long fd_limit_ = 0;
  std::string error_;

  std::vector<Client> clients_;
  std::deque<std::pair<std::size_t, Action>> pending_;
  std::size_t inflight_ = 0;
  Next after_allocate_ = Next::kHold;
  bool recycle_ = false;
  std::uint64_t recycle_until_ = 0;

  // setup and transaction counters
  std::uint64_t allocated_ = 0;
  std::size_t settled_ready_ = 0;
  std::size_t settled_failed_ = 0;
  std::size_t closed_ = 0;
  std::uint64_t retransmits_ = 0;
  std::uint64_t stale_nonces_ = 0;
  std::uint64_t open_failures_ = 0;
  std::uint64_t send_errors_ = 0;
  std::uint64_t streams_closed_ = 0;
  TlsClients tls_;
  std::vector<std::uint8_t> stream_buf_ = std::vector<std::uint8_t>(kBatch * (kSlot + 4));
  std::map<std::string, std::uint64_t> failures_;
  Histogram alloc_dance_;
  Histogram alloc_signed_;

  // data phase
  bool data_active_ = false;
  std::size_t data_clients_ = 0;  // the data phase's clients: the first this many
  std::uint64_t data_start_ns_ = 0;
  double per_client_rate_ = 0;
  std::uint64_t next_due_ns_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t send_failed_ = 0;
  std::uint64_t skipped_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t peer_received_ = 0;
  std::uint64_t peer_echo_failed_ = 0;
  std::uint64_t malformed_ = 0;
  std::uint64_t stalls_ = 0;
  std::uint64_t last_rx_ns_ = 0;
  Histogram rtt_;

  // binding mode
  std::vector<std::uint64_t> binding_sent_at_;
  std::vector<std::uint64_t> binding_seq_;
  std::vector<std::size_t> binding_queue_;  // per socket: requests prepared in tx_, not sent
  std::uint64_t binding_until_ = 0;
  std::uint64_t binding_outstanding_ = 0;
  std::uint64_t binding_sent_ = 0;
  std::uint64_t binding_ok_ = 0;
  std::uint64_t binding_errors_ = 0;
  std::uint64_t binding_timeouts_ = 0;
  Histogram binding_rtt_;

  Batch<kBatch, kSlot> rx_;
  Batch<kBatch, kSlot> peer_rx_;
  Batch<kBatch, kSlot> tx_;
};

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  tern::bench::Options options;
  std::string error;
  if (!tern::bench::parse_options(argc, argv, options, error)) {
    if (error != "help") std::fprintf(stderr, "tern_bench: %s\n", error.c_str());
    std::fputs(tern::bench::usage(), stderr);
    return 2;
  }
  auto bench = std::make_unique<tern::bench::Bench>(std::move(options));
  return bench->run();
}
