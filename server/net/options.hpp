// Plain settings for the network layer, filled from the config by the app.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tern/core/peer_policy.hpp"
#include "tern/core/server.hpp"

namespace tern::net {

struct ListenerSpec {
  core::Transport transport = core::Transport::kUdp;
  std::string address;      // IP literal
  unsigned short port = 0;  // 0 = any free port (tests), shared by all workers
};

struct TlsFiles {
  std::string cert_file;
  std::string key_file;
  bool tls13_only = false;  // min version 1.3 instead of 1.2
};

// Relay sockets (RFC 8656 §2.2): where they bind, what they advertise, which ports.
// TCP and TLS client connections: closed after `idle` without a byte (unless they carry an
// allocation), and TLS ones when their handshake is not done within `handshake`.
struct StreamTimeouts {
  std::chrono::seconds idle{300};
  std::chrono::seconds handshake{10};
};

struct RelayOptions {
  std::string address = "0.0.0.0";
  std::string address_v6;      // empty = no IPv6 relay
  std::string public_address;  // advertised instead of `address` behind a 1:1 NAT
  std::uint16_t min_port = 49152;
  std::uint16_t max_port = 65535;
  std::vector<std::string> extra_addresses;  // more relay IPs, advertised as themselves
  // Non-zero: worker i relays every UDP allocation through one socket per family on port
  // multiplex_port + 2i, telling peers apart by their address (relay.multiplex_port).
  std::uint16_t multiplex_port = 0;
};

// New UDP clients fill one worker before the next (UdpSteering), or the kernel's hash spreads
// them.
struct SteeringOptions {
  bool pack = true;
  std::size_t pack_allocations = 256;
  double pack_busy = 0.5;  // share of one CPU
};

// The kernel relay (offload::KernelRelay) for channel data over UDP/IPv4.
struct OffloadOptions {
  enum class Mode : std::uint8_t { kOff, kAuto, kRequired };
  Mode mode = Mode::kAuto;  // kAuto: where it loads; kRequired: the runtime throws without it
  std::vector<std::string> interfaces;  // empty = every interface that is up, but loopback
  std::uint32_t max_bindings = 65536;
  bool xdp = false;  // at XDP where the driver has it natively, else at tc
};

struct RuntimeOptions {
  unsigned workers = 0;                   // 0 = one per core
  std::chrono::microseconds coalesce{0};  // least time between two wake-ups of a busy worker
  SteeringOptions steering;
  OffloadOptions offload;
  std::vector<ListenerSpec> listeners;
  // `any` listeners: TURN over TCP and TLS and the web endpoints on one port (PortMux); opened
  // by the app with Runtime::serve_shared_port once the web server exists.
  std::vector<ListenerSpec> shared_ports;
  TlsFiles tls;
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_source = 1000;  // 0 = no limit per source IP
  std::vector<core::Cidr> trusted_proxies;  // TCP/TLS from these must send a PROXY header first
  StreamTimeouts stream_timeouts;
  core::ServerOptions core;
  core::ServerDeps deps;  // shared by all workers; `relays` is filled per worker
  RelayOptions relay;
};

}  // namespace tern::net
