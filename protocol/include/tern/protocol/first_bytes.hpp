// What a client's first bytes on a shared TCP port say it speaks (TLS, TURN, HTTP), and the
// ALPN names and server name a TLS ClientHello offers (RFC 7301, RFC 6066): how one port can
// serve turn:, turns: and https:.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace tern::protocol {

enum class StreamKind : std::uint8_t {
  kUnknown,  // too few bytes to tell yet
  kTls,      // a TLS record (handshake) header
  kTurn,     // a STUN message header (a new connection's first message is never ChannelData)
  kHttp,     // an HTTP/1.x request line's method
  kOther,    // none of these
};

// Classifies the first bytes of a TCP stream, or of the plaintext of a TLS connection.
StreamKind classify_stream(std::span<const std::uint8_t> first) noexcept;

// The ALPN protocol name of TURN and STUN over (D)TLS (RFC 7443).
inline constexpr const char* kAlpnTurn = "stun.turn";
// tern reads at most this much of a ClientHello (one full record and its header, or several
// records together); a larger one is malformed for its purposes.
inline constexpr std::size_t kMaxClientHelloBytes = 16384 + 5;

struct ClientHelloScan {
  enum class Status : std::uint8_t { kNeedMore, kMalformed, kComplete };
  Status status = Status::kNeedMore;
  std::size_t needed = 0;         // kNeedMore: at least this many bytes in total
  std::vector<std::string> alpn;  // protocol names offered, in order
  std::string server_name;        // the SNI host_name, empty when none is sent
};

// Reads the ClientHello from the TLS records at the front of `bytes` (a handshake message may
// span several records). Never reads past kMaxClientHelloBytes.
ClientHelloScan scan_client_hello(std::span<const std::uint8_t> bytes);

}  // namespace tern::protocol
