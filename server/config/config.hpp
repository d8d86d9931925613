// tern's configuration as plain structs; every field has the documented default
// (docs/configuration.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tern::config {

struct Listen {
  std::string transport;  // udp | tcp | tls
  std::string address;    // IP literal
  std::uint16_t port = 0;
};

struct Tls {
  std::string cert_file;  // empty = self-signed certificate under state_dir/tls
  std::string key_file;
  std::string min_version = "1.2";  // 1.2 | 1.3
};

enum class OffloadMode : std::uint8_t { kOff, kAuto, kRequired };

struct Relay {
  std::string address = "0.0.0.0";
  std::string address_v6;
  // More relay IPs of either family, each with the whole port range, advertised as themselves.
  std::vector<std::string> extra_addresses;
  std::string public_address;
  // Names an environment variable holding public_address (e.g. a pod's node IP); read at load.
  std::string public_address_env;
  std::uint16_t min_port = 49152;
  std::uint16_t max_port = 65535;
  // Non-zero: each worker relays all its UDP allocations through one socket per family, on
  // multiplex_port + 2 x its index, and tells peers apart by their address (non-standard: every
  // allocation of a worker has the same relayed address). 0 = a socket per allocation.
  std::uint16_t multiplex_port = 0;
  bool rfc5766_channels = false;  // also accept channel numbers 0x5000-0x7FFF (RFC 5766)
  // RFC 6062 TCP allocations (Connect to TCP peers); off = REQUESTED-TRANSPORT TCP gets 442.
  // Read at start: turning it on needs a restart.
  bool tcp = false;
  // RFC 8016 mobility: a client that asks gets a MOBILITY-TICKET, and may move its allocation
  // to a new address with it (a phone going from Wi-Fi to cellular). Off = 405.
  bool mobility = false;
  // RFC 8656 §9 and §12 fix these at 5 and 10 minutes; shorter ones are for tests and labs.
  std::chrono::seconds permission_lifetime{300};
  std::chrono::seconds channel_lifetime{600};
  // The kernel relay (eBPF at tc ingress) for channel data over UDP/IPv4: off, auto (where it
  // loads: CAP_BPF and CAP_NET_ADMIN, IPv4 forwarding on the interface), or required (tern
  // does not start without it). Read at start.
  OffloadMode offload = OffloadMode::kAuto;
  std::vector<std::string> offload_interfaces;  // empty = every interface that is up
  std::uint32_t offload_max_bindings = 65536;   // channel bindings in the kernel at once
  // Where the kernel relay runs: tc ingress (any Ethernet driver), or XDP where the driver has
  // it natively (tc elsewhere). XDP sends out of other interfaces only to drivers that take XDP
  // frames (on veth: the far end has an XDP program or GRO on).
  bool offload_xdp = false;
};

struct User {
  std::string name;
  std::string password;    // exactly one of password and key
  std::string key;         // hex long-term key (MD5)
  std::string sha256_key;  // optional hex SHA-256 long-term key, with `key`
};

// An authorization server's key for RFC 7635 access tokens, by key id (the token's USERNAME).
struct OAuthKey {
  std::string kid;
  std::string algorithm = "A256GCM";  // A256GCM | A128GCM
  std::string key;                    // base64; its first 32 (16 for A128GCM) bytes are the key
};

struct OAuth {
  std::string server_name;  // THIRD-PARTY-AUTHORIZATION and the tokens' AAD; empty = realm
  std::vector<OAuthKey> keys;
};

struct Auth {
  std::vector<User> users;
  std::string users_file;
  std::string users_env;  // name of an environment variable holding users, as in users_file
  std::vector<std::string> secrets;
  std::string secrets_file;
  std::string secrets_env;  // name of an environment variable holding secrets, one per line
  bool strict_expiry = false;
  // Generate a TURN REST secret into state_dir/turn-secret on first run and use it (the
  // embedded default, so the demo page works out of the box).
  bool generated_secret = false;
  OAuth oauth;  // third-party authorization (RFC 7635); off while `keys` is empty
};

struct Limits {
  // Unlimited by default: browsers make one allocation per TURN URL, and apps share one static
  // user or one REST name among many people (docs/turn.md, "Quotas").
  std::uint32_t allocations_per_user = 0;
  std::uint32_t allocations_per_source_ip = 1000;  // one address: an office, a campus, a CGNAT
  std::uint32_t allocations_total = 0;             // 0 = bounded by the relay port range
  std::uint32_t permissions_per_allocation = 64;
  std::uint32_t channels_per_allocation = 64;
  std::chrono::seconds max_allocation_lifetime{3600};
  std::uint32_t unauthenticated_replies_per_second = 20;  // per source IP; 0 = unlimited
  // Replies a source may draw at once; a request that then authenticates gives its one back.
  std::uint32_t unauthenticated_reply_burst = 512;
  // RFC 6062 peer data connections (waiting for their ConnectionBind or bound); 0 = no limit.
  std::uint32_t tcp_connections_per_allocation = 16;
  std::uint32_t tcp_connections_total = 10000;
};

struct Peers {
  std::vector<std::string> deny{"default"};
  std::vector<std::string> allow;
};

struct Stun {
  bool rfc3489 = false;  // answer cookie-less RFC 3489 Binding requests
  // RFC 5780 NAT behaviour discovery, off while empty: "IP1:P1" (a udp listen entry) and
  // "IP2:P2"; tern also listens on IP1:P2, IP2:P1 and IP2:P2 over UDP.
  std::string nat_discovery_primary;
  std::string nat_discovery_alternate;
};

struct Connections {
  std::uint32_t max = 10000;           // TCP + TLS connections per process
  std::uint32_t per_source_ip = 1000;  // of those from one IP address; 0 = no limit
  std::chrono::seconds idle_timeout{300};
  std::chrono::seconds handshake_timeout{10};  // TLS handshakes not done by then are closed
  // Networks of load balancers that put a PROXY protocol (v1 or v2) header ahead of each TCP
  // or TLS connection; the signaling endpoint trusts X-Forwarded-For from them too.
  std::vector<std::string> trusted_proxies;
};

// How new UDP clients are spread over the workers (read at start; changes take a restart).
enum class SteeringMode : std::uint8_t { kPack, kHash };
struct Steering {
  // pack: fill one worker before the next (eBPF); hash: the kernel's 5-tuple hash
  SteeringMode mode = SteeringMode::kPack;
  std::uint32_t pack_allocations = 256;  // UDP allocations a worker takes before the next one
  std::uint32_t pack_busy_percent = 50;  // nor more once its thread used this much of a CPU
};

struct Config {
  std::string realm = "tern.local";
  std::string software;
  std::uint32_t workers = 0;
  std::uint32_t coalesce_us = 250;  // least microseconds between two wake-ups of a busy worker
  Steering steering;
  std::string state_dir;  // empty = $TERN_STATE_DIR, /var/lib/tern as root, ~/.local/state/tern
  std::vector<Listen> listen{
      {"udp", "0.0.0.0", 3478}, {"tcp", "0.0.0.0", 3478}, {"tls", "0.0.0.0", 5349}};
  Tls tls;
  Relay relay;
  Auth auth;
  Limits limits;
  Peers peers;
  std::vector<std::string> alternate_servers;
  std::string metrics_listen = "127.0.0.1:9641";
  bool metrics_tls = false;  // HTTPS with the tls certificate
  std::string signaling_listen;
  std::string signaling_token;
  std::string signaling_ice_host;  // host name for turn:/turns: URLs; empty = an address
  // The URLs /api/ice-servers hands out instead of this node's own: a fleet's DNS name or every
  // node ("turn:turn.example.org:3478?transport=udp", "stun:..."); empty = this node's.
  std::vector<std::string> signaling_ice_urls;
  std::uint32_t signaling_max_connections = 1000;          // HTTP + WebSocket connections
  std::uint32_t signaling_connections_per_source_ip = 50;  // 0 = no limit
  std::string admin_socket = "/run/tern/admin.sock";
  std::string log_level = "info";
  std::string log_format = "text";
  Stun stun;
  Connections connections;
};

}  // namespace tern::config
