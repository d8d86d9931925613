// TLS for tern_bench's stream clients: one client context (no certificate check: the servers
// under test run on loopback with self-signed certificates) and non-blocking reads and writes.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;

namespace tern::bench {

class TlsClients {
 public:
  TlsClients();
  ~TlsClients();
  TlsClients(const TlsClients&) = delete;
  TlsClients& operator=(const TlsClients&) = delete;

  // Handshakes on a connected, still blocking socket; nullptr on failure.
  SSL* connect(int fd);

 private:
  SSL_CTX* ctx_;
};

// Non-blocking I/O on a handshaken connection: bytes moved, 0 when it would block, -1 when the
// connection closed or failed.
ssize_t tls_read(SSL* ssl, std::uint8_t* data, std::size_t size);
ssize_t tls_write(SSL* ssl, const std::uint8_t* data, std::size_t size);
void tls_free(SSL* ssl);

}  // namespace tern::bench
