// Config values checked on their own (durations, addresses, ICE URLs), the embedded default
// config and where state lives.
#include <unistd.h>

#include <cstdlib>

#include "config/loader.hpp"
#include "tern/protocol/address.hpp"

namespace tern::config {
namespace {

const char kEmbeddedDefault[] =
    R"(# tern's embedded default configuration (`tern print-default-config`).
realm: tern.local
software: ""
workers: 0                      # 0 = one per core
coalesce_us: 250                # under sustained load (128k+ datagrams/s) a worker wakes at most once per 250 us
steering:
  mode: pack                    # new UDP clients fill one worker before the next (eBPF); hash = kernel's
  pack_allocations: 256         # a worker takes new clients until it holds this many UDP allocations
  pack_busy_percent: 50         # or its thread used this much of a CPU
listen:
  - {transport: udp, address: "0.0.0.0", port: 3478}
  - {transport: tcp, address: "0.0.0.0", port: 3478}
  - {transport: tls, address: "0.0.0.0", port: 5349}
tls:
  cert_file: ""                 # empty = self-signed certificate generated into state_dir/tls
  key_file: ""
  min_version: "1.2"
stun:
  rfc3489: false                # answer RFC 3489 requests without the magic cookie
relay:
  address: "0.0.0.0"            # advertises the host's first non-loopback IPv4 address
  offload: auto                 # the kernel relays channel data where it can (docs/offload.md)
auth:
  generated_secret: true        # a TURN REST secret created in the state directory on first run
signaling:
  listen: "127.0.0.1:8080"      # demo page, /api/ice-servers, WebSocket rooms; "" = off
metrics:
  listen: "127.0.0.1:9641"
connections:
  max: 10000
  per_source_ip: 1000           # TCP/TLS connections from one address (an office, a CGNAT)
  idle_timeout: 5m
  handshake_timeout: 10s        # a TLS client that has not finished its handshake by then
log: {level: info, format: text}
)";

}  // namespace

bool parse_duration(const std::string& text, std::chrono::seconds& out) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 9) return false;
  const std::uint64_t value = std::stoull(text.substr(0, i));
  const std::string unit = text.substr(i);
  std::uint64_t seconds = 0;
  if (unit.empty() || unit == "s") {
    seconds = value;
  } else if (unit == "ms") {
    seconds = (value + 999) / 1000;
  } else if (unit == "m") {
    seconds = value * 60;
  } else if (unit == "h") {
    seconds = value * 3600;
  } else if (unit == "d") {
    seconds = value * 86400;
  } else {
    return false;
  }
  out = std::chrono::seconds(static_cast<std::int64_t>(seconds));
  return true;
}

bool is_ice_url(const std::string& text) {
  for (const char* scheme : {"stun:", "turn:", "turns:"}) {
    const std::string_view prefix(scheme);
    if (text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0 &&
        text.find_first_of(" \t\r\n\"") == std::string::npos) {
      return true;
    }
  }
  return false;
}

bool is_valid_cidr(const std::string& text) {
  const auto slash = text.find('/');
  protocol::TransportAddress a;
  if (!protocol::TransportAddress::parse_ip(text.substr(0, slash), a)) return false;
  if (slash == std::string::npos) return true;
  const auto bits = text.substr(slash + 1);
  if (bits.empty() || bits.size() > 3 ||
      bits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const std::size_t length = std::stoul(bits);
  if (length > a.ip_size() * 8) return false;
  // No host bits below the prefix ("10.0.0.1/8" is a mistake for 10.0.0.0/8 or 10.0.0.1/32).
  for (std::size_t bit = length; bit < a.ip_size() * 8; ++bit) {
    if (a.ip[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

bool is_valid_peer_range(const std::string& text) {
  if (is_valid_cidr(text)) return true;
  std::string cidr, ports;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return false;
    cidr = text.substr(1, close - 1);
    ports = text.substr(close + 2);
  } else {
    const auto colon = text.find(':');
    if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) return false;
    cidr = text.substr(0, colon);
    ports = text.substr(colon + 1);
  }
  return is_valid_cidr(cidr) && !ports.empty() && ports.size() <= 11 &&
         ports.find_first_not_of("0123456789-") == std::string::npos;
}

const std::string& embedded_default_config() {
  static const std::string text = kEmbeddedDefault;
  return text;
}

std::string resolve_state_dir(const Config& config) {
  if (!config.state_dir.empty()) return config.state_dir;
  if (const char* env = std::getenv("TERN_STATE_DIR"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/tern";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/tern";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.local/state/tern";
  }
  return "./tern-state";
}

}  // namespace tern::config
