// tern_bench's options: parsing and the checks between them.
#include "bench_options.hpp"

#include <cstdlib>
#include <set>

#include "udp.hpp"

namespace tern::bench {
namespace {

const char* const kUsage = R"(usage: tern_bench --server IP:PORT [options]
  --mode relay|allocate|binding|idle|raw|rawecho   (default relay; raw drives a plain UDP
                        forwarder to one sink, rawecho a two-way one: client i's datagrams to
                        echo peer i and the echoes back, as a relay without TURN)
  --transport udp|tcp|tls  client to server transport for relay, allocate and idle (default
                        udp); the relay to the echo peer is UDP either way
  --server-pid PID      measure this process's CPU (utime+stime) and VmRSS from /proc
  --clients N           relay/idle/raw: clients (allocations); binding: sockets (default 10)
  --size BYTES          relay/raw payload per packet, 24..1400 (default 120)
  --rate MSG_PER_S      relay/raw: total client->server messages/s; 0 = closed loop (default 0)
  --window N            closed loop: packets in flight per client; binding: requests in
                        flight per socket (default 32)
  --duration S          data phase / allocate / binding time (default 5)
  --packets N           relay/raw: stop each client after N packets (default 0 = no limit)
  --send                relay: Send indications + CreatePermission instead of ChannelBind
  --inflight K          Allocate dances in flight (allocate mode and setup; default 64)
  --idle-channel        idle: also bind a channel per allocation
  --active N            idle: then the first N clients send paced ChannelData at --rate in
                        total for --duration (needs --idle-channel)
  --hold-allocate S     idle: then S seconds of Allocate dances (--inflight in flight, each
                        deleted again) while the N allocations are held
  --clients-per-ip N    bind client sockets on 127.1.0.1, 127.1.0.2, ... N clients each
                        (default 0: all on the server's own loopback address)
  --first-ip K          with --clients-per-ip: start at 127.1.0.(K+1) (several tern_bench
                        processes, each under its own descriptor limit, hold one server's load)
  --hold S              idle: after setup, print "held N" on stderr and hold the allocations
                        for S seconds or until SIGTERM, then go on (the scale shape's helpers)
  --lifetime S          LIFETIME of the idle-mode Refresh (default 600)
  --peer-ip IP          echo peer address (default 127.0.0.2)
  --peers N             echo peer sockets on that address, client i using peer i mod N
                        (default 1); one per client lets a server that demultiplexes by peer
                        address (coturn's --multiplex-peer) bind every client's channel
  --peer-port P         echo peer port (default 0 = any; raw: the forwarder's destination); with
                        --peers N, the peers take ports P .. P+N-1
  --client-netns NS     open the clients' sockets in network namespace NS (bound to 0.0.0.0)
  --peer-netns NS       open the echo peer's socket in network namespace NS
  --user U --password P long-term credentials (default bench/bench)
  --drain S             wait for packets in flight after the data phase (default 1)
  --setup-timeout S     bound on setup and teardown (default 60)
  --rto S               request retransmission timeout, doubled per retry (default 0.5)
  --sockbuf BYTES       SO_RCVBUF/SO_SNDBUF of the tool's sockets (default 4194304)
  --before-data CMD     relay/raw: shell command run just before the data phase
  --after-data CMD      relay/raw: shell command run just after it (e.g. callgrind_control)
  --label L --shape S --round R   copied into the JSON output
)";

}  // namespace

const char* usage() {
  return kUsage;
}

bool parse_options(int argc, char** argv, Options& o, std::string& error) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        error = "missing value for " + a;
        return {};
      }
      return argv[++i];
    };
    auto number = [&]() -> double {
      const std::string v = value();
      if (!error.empty()) return 0;
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || d < 0) error = "bad number for " + a + ": " + v;
      return d;
    };
    if (a == "--mode")
      o.mode = value();
    else if (a == "--transport") {
      const std::string t = value();
      if (t != "udp" && t != "tcp" && t != "tls") error = "--transport must be udp, tcp or tls";
      o.tcp = t == "tcp" || t == "tls";
      o.tls = t == "tls";
    } else if (a == "--server")
      o.server_text = value();
    else if (a == "--server-pid")
      o.server_pid = static_cast<pid_t>(number());
    else if (a == "--clients")
      o.clients = static_cast<std::size_t>(number());
    else if (a == "--size")
      o.size = static_cast<std::size_t>(number());
    else if (a == "--rate")
      o.rate = number();
    else if (a == "--window")
      o.window = static_cast<std::size_t>(number());
    else if (a == "--duration")
      o.duration = number();
    else if (a == "--packets")
      o.packets = static_cast<std::uint64_t>(number());
    else if (a == "--send")
      o.send = true;
    else if (a == "--inflight")
      o.inflight = static_cast<std::size_t>(number());
    else if (a == "--idle-channel")
      o.idle_channel = true;
    else if (a == "--active")
      o.active = static_cast<std::size_t>(number());
    else if (a == "--hold-allocate")
      o.hold_allocate = number();
    else if (a == "--clients-per-ip")
      o.clients_per_ip = static_cast<std::size_t>(number());
    else if (a == "--first-ip")
      o.first_ip = static_cast<std::size_t>(number());
    else if (a == "--hold")
      o.hold = number();
    else if (a == "--lifetime")
      o.lifetime = static_cast<std::uint32_t>(number());
    else if (a == "--peer-ip")
      o.peer_ip = value();
    else if (a == "--peers")
      o.peers = static_cast<std::size_t>(number());
    else if (a == "--peer-port")
      o.peer_port = static_cast<std::uint16_t>(number());
    else if (a == "--client-netns")
      o.client_netns = value();
    else if (a == "--peer-netns")
      o.peer_netns = value();
    else if (a == "--user")
      o.user = value();
    else if (a == "--password")
      o.password = value();
    else if (a == "--drain")
      o.drain = number();
    else if (a == "--setup-timeout")
      o.setup_timeout = number();
    else if (a == "--rto")
      o.rto = number();
    else if (a == "--sockbuf")
      o.sockbuf = static_cast<int>(number());
    else if (a == "--before-data")
      o.before_data = value();
    else if (a == "--after-data")
      o.after_data = value();
    else if (a == "--label")
      o.label = value();
    else if (a == "--shape")
      o.shape = value();
    else if (a == "--round")
      o.round = static_cast<std::int64_t>(number());
    else if (a == "--help" || a == "-h") {
      error = "help";
      return false;
    } else {
      error = "unknown option " + a;
    }
    if (!error.empty()) return false;
  }
  static const std::set<std::string> kModes = {"relay", "allocate", "binding",
                                               "idle",  "raw",      "rawecho"};
  if (!kModes.contains(o.mode)) error = "unknown mode " + o.mode;
  if (o.tcp && (o.mode == "binding" || o.mode.starts_with("raw")))
    error = "--transport: only udp in this mode";
  auto server = parse_endpoint(o.server_text);
  if (!server)
    error = "--server IP:PORT is required";
  else
    o.server = *server;
  if (o.size < kStamp || o.size > kMaxPayload) error = "--size must be 24..1400";
  if (o.clients == 0 || o.clients > 250000) error = "--clients must be 1..250000";
  if (o.clients > 60000 && o.clients_per_ip == 0)
    error = "more than 60000 clients need --clients-per-ip (one address has too few ports)";
  if (o.active > o.clients) error = "--active must not exceed --clients";
  if (o.active > 0 && (o.mode != "idle" || !o.idle_channel || o.rate <= 0))
    error = "--active needs --mode idle, --idle-channel and --rate";
  if (o.window == 0 || o.window > 4096) error = "--window must be 1..4096";
  if (o.peers == 0 || o.peers > 4096) error = "--peers must be 1..4096";
  if (o.peer_port != 0 && o.peer_port + o.peers - 1 > 65535)
    error = "--peer-port + --peers > 65535";
  if (o.inflight == 0) error = "--inflight must be at least 1";
  if (o.duration > 3600 || o.setup_timeout > 3600 || o.drain > 60) error = "durations too long";
  return error.empty();
}

}  // namespace tern::bench
