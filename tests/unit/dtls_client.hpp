// An in-memory OpenSSL DTLS client for tests of net::DtlsEndpoint: what it sends is queued in
// `out`; give() hands it one datagram.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "net/dtls.hpp"

namespace tern::net::test {

using Bytes = std::vector<std::uint8_t>;

// An OpenSSL DTLS client whose datagrams go to a queue the test hands to the endpoint.
struct Client {
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  Client() {
    ctx = SSL_CTX_new(DTLS_client_method());
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    send = [this](const protocol::TransportAddress&, std::span<const std::uint8_t> b) {
      out.emplace_back(b.begin(), b.end());
    };
    io.send = &send;
    ssl = SSL_new(ctx);
    BIO* bio = make_datagram_bio(&io);
    SSL_set_bio(ssl, bio, bio);
    DTLS_set_link_mtu(ssl, kDtlsLinkMtu);
    SSL_set_connect_state(ssl);
  }
  ~Client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  void give(const Bytes& datagram) {
    io.in = datagram;
    if (!SSL_is_init_finished(ssl)) SSL_do_handshake(ssl);
  }
  std::string read() {
    std::string got;
    char buf[2048];
    for (int i = 0; i < 16; ++i) {
      const int n = SSL_read(ssl, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  SSL_CTX* ctx;
  SSL* ssl;
  DatagramIo io;
  DatagramIo::Send send;
  std::deque<Bytes> out;
};

}  // namespace tern::net::test
