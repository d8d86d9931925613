// TlsClients: OpenSSL client contexts and connections for the benchmark's TLS transport.
#include "tls_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <climits>

namespace tern::bench {

TlsClients::TlsClients() : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (ctx_ == nullptr) return;
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  // Writes may complete in part, and a retried write may come from a moved buffer.
  SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

TlsClients::~TlsClients() {
  SSL_CTX_free(ctx_);
}

SSL* TlsClients::connect(int fd) {
  if (ctx_ == nullptr) return nullptr;
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
    ERR_clear_error();
    SSL_free(ssl);
    return nullptr;
  }
  return ssl;
}

namespace {
ssize_t result(SSL* ssl, int n) {
  if (n > 0) return n;
  const int error = SSL_get_error(ssl, n);
  ERR_clear_error();
  return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE ? 0 : -1;
}
int clamp(std::size_t size) {
  return size > INT_MAX ? INT_MAX : static_cast<int>(size);
}
}  // namespace

ssize_t tls_read(SSL* ssl, std::uint8_t* data, std::size_t size) {
  return result(ssl, SSL_read(ssl, data, clamp(size)));
}

ssize_t tls_write(SSL* ssl, const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  return result(ssl, SSL_write(ssl, data, clamp(size)));
}

void tls_free(SSL* ssl) {
  SSL_free(ssl);
}

}  // namespace tern::bench
