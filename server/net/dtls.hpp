// DTLS for the `dtls` transport (RFC 7350): the server context, stateless HelloVerifyRequest
// cookies, the first look at a datagram, and a BIO that moves one datagram at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>

#include "options.hpp"
#include "tern/protocol/address.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using BIO = struct bio_st;

namespace tern::net {

// HelloVerifyRequest cookies (RFC 6347 §4.2.1): HMAC-SHA256 over a one-minute window and the
// client's address and port, truncated. A cookie verifies in the window it was made in and the
// next one, so no state is kept for a client until it has proved it receives at its address.
class DtlsCookies {
 public:
  static constexpr std::size_t kSize = 16;
  using Cookie = std::array<std::uint8_t, kSize>;
  DtlsCookies();  // a random secret
  explicit DtlsCookies(const std::array<std::uint8_t, 32>& secret) : secret_(secret) {}
  Cookie make(const protocol::TransportAddress& client, std::int64_t unix_seconds) const;
  bool verify(const protocol::TransportAddress& client, std::span<const std::uint8_t> cookie,
              std::int64_t unix_seconds) const;

 private:
  Cookie mac(const protocol::TransportAddress& client, std::int64_t window) const;
  std::array<std::uint8_t, 32> secret_{};
};

// The one set of cookies of this process (all workers and listeners verify each other's).
const DtlsCookies& process_cookies();

// A DTLS record header (13 bytes) and handshake header (12 bytes) ahead of a ClientHello.
inline constexpr std::size_t kDtlsRecordHeader = 13;
inline constexpr std::size_t kDtlsHandshakeHeader = 12;
// tern's HelloVerifyRequest: record and handshake headers, version, cookie length, cookie.
inline constexpr std::size_t kHelloVerifySize =
    kDtlsRecordHeader + kDtlsHandshakeHeader + 3 + DtlsCookies::kSize;

// Whether `datagram` starts with a DTLS handshake record of epoch 0 that carries a ClientHello:
// the only thing tern answers from a client it has no association with.
bool is_client_hello(std::span<const std::uint8_t> datagram) noexcept;

// What a datagram BIO reads from and writes to. `in` is one received datagram, taken whole by
// the next read; each write is one datagram, handed to `send` for `peer` unless it is larger
// than `max_write` (the stateless exchange answers no larger than it was asked).
struct DatagramIo {
  using Send =
      std::function<void(const protocol::TransportAddress&, std::span<const std::uint8_t>)>;
  const Send* send = nullptr;
  protocol::TransportAddress peer;
  std::span<const std::uint8_t> in;
  std::size_t max_write = std::numeric_limits<std::size_t>::max();
  std::uint64_t withheld = 0;  // writes over max_write, not sent
  std::uint64_t sent = 0;      // datagrams handed to `send`
};

// A BIO over `io` (not owned; it must outlive the BIO).
BIO* make_datagram_bio(DatagramIo* io);

// The payload size tern gives a DTLS datagram (handshake flights are cut to fit).
inline constexpr long kDtlsLinkMtu = 1200;

// DTLS 1.2 with tern's certificate (the TLS files), AEAD ciphers, no compression or
// renegotiation, and process_cookies() for the HelloVerifyRequest. Shared by the workers.
class DtlsContext {
 public:
  // Throws std::runtime_error when the certificate or key cannot be loaded.
  static std::shared_ptr<const DtlsContext> make(const TlsFiles& files);
  ~DtlsContext();
  DtlsContext(const DtlsContext&) = delete;
  DtlsContext& operator=(const DtlsContext&) = delete;
  // A server-side SSL reading and writing through `io`; nullptr when out of memory.
  SSL* new_session(DatagramIo* io) const;

 private:
  explicit DtlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace tern::net
