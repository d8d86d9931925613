// TLS for the `tls` transport: a self-signed certificate on first run, and the server context.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "options.hpp"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // and SSL_CTX

namespace boost::asio::ssl {
class context;
}

namespace tern::net {

// Returns cert/key paths under `state_dir`/tls, creating a self-signed P-256 certificate for
// "localhost" and 127.0.0.1 when none is there yet. Throws std::runtime_error on failure.
TlsFiles ensure_self_signed(const std::string& state_dir);

// The certificate's notAfter as unix seconds; nullopt when the file cannot be read.
std::optional<std::int64_t> certificate_expiry(const std::string& cert_file);

// The ALPN protocol a TLS context selects when the client offers it (RFC 7301): `stun.turn`
// (RFC 7443) for TURN, `http/1.1` for the web endpoints. Offered nothing it knows, it answers
// without ALPN, as it does to clients that send none.
enum class Alpn : std::uint8_t { kTurn, kHttp };

// TLS 1.2 or newer (1.3 only when asked), AEAD ciphers, no compression, no renegotiation.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files,
                                                            Alpn alpn = Alpn::kTurn);

// What the TLS and the DTLS contexts share: only forward-secret AEAD suites, ECDHE and DHE (the
// two RFC 8489 §6.2.3 and RFC 7350 require: TLS_ECDHE_RSA_ and TLS_DHE_RSA_WITH_AES_128_GCM_
// SHA256, with an RSA certificate), OpenSSL's choice of DH group for DHE, the server's order of
// preference, no renegotiation, and `alpn` selected when the client offers it.
void set_common_tls_options(ssl_ctx_st* ctx, Alpn alpn);

// A TLS session whose handshake is done, owned apart from the stream that ran it: how a shared
// port's connection that offered no ALPN name moves to the web side once its first bytes show
// an HTTP request.
struct SslFree {
  void operator()(ssl_st* ssl) const noexcept;
};
using SslSession = std::unique_ptr<ssl_st, SslFree>;

}  // namespace tern::net
