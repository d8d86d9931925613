// ClientHellos written by OpenSSL's TLS client, for tests of what tern reads from them.
#pragma once

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tern::test {

// The first flight of an OpenSSL client: its ClientHello records.
inline std::vector<std::uint8_t> client_hello(const std::vector<std::string>& alpn,
                                              const char* server_name) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  if (!alpn.empty()) {
    std::vector<std::uint8_t> wire;
    for (const auto& a : alpn) {
      wire.push_back(static_cast<std::uint8_t>(a.size()));
      wire.insert(wire.end(), a.begin(), a.end());
    }
    SSL_set_alpn_protos(ssl, wire.data(), static_cast<unsigned>(wire.size()));
  }
  if (server_name != nullptr) SSL_set_tlsext_host_name(ssl, server_name);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  std::vector<std::uint8_t> hello(static_cast<std::size_t>(BIO_pending(out)));
  BIO_read(out, hello.data(), static_cast<int>(hello.size()));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

}  // namespace tern::test
