// DTLS context, cookies and datagram BIO on OpenSSL 3 (DTLS 1.2, RFC 6347).
#include "dtls.hpp"
#include "tls.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tern::net {
namespace {

constexpr std::int64_t kCookieWindow = 60;  // seconds
constexpr std::uint8_t kHandshake = 22;     // ContentType handshake
constexpr std::uint8_t kClientHello = 1;    // HandshakeType client_hello
constexpr std::uint8_t kDtlsMajor = 0xFE;   // DTLS 1.0 is {254, 255}, DTLS 1.2 is {254, 253}

DatagramIo* io_of(BIO* b) {
  return static_cast<DatagramIo*>(BIO_get_data(b));
}

int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int bio_destroy(BIO*) {
  return 1;
}

int bio_write(BIO* b, const char* data, int len) {
  DatagramIo* io = io_of(b);
  if (io == nullptr || len < 0) return -1;
  const auto size = static_cast<std::size_t>(len);
  if (size > io->max_write || io->send == nullptr || !*io->send) {
    ++io->withheld;
  } else {
    (*io->send)(io->peer, std::span(reinterpret_cast<const std::uint8_t*>(data), size));
    ++io->sent;
  }
  return len;
}

int bio_read(BIO* b, char* out, int len) {
  DatagramIo* io = io_of(b);
  BIO_clear_retry_flags(b);
  if (io == nullptr || io->in.empty() || len <= 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  const std::size_t n = std::min(io->in.size(), static_cast<std::size_t>(len));
  std::memcpy(out, io->in.data(), n);
  io->in = {};  // one datagram per read, like a UDP socket (the rest of a larger one is lost)
  return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING: {
      DatagramIo* io = io_of(b);
      return io == nullptr ? 0 : static_cast<long>(io->in.size());
    }
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return kDtlsLinkMtu;
    default:
      return 0;
  }
}

BIO_METHOD* datagram_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern datagram");
    BIO_meth_set_create(m, bio_create);
    BIO_meth_set_destroy(m, bio_destroy);
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    return m;
  }();
  return method;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int generate_cookie(SSL* ssl, unsigned char* cookie, unsigned int* len) {
  DatagramIo* io = io_of(SSL_get_rbio(ssl));
  if (io == nullptr) return 0;
  const auto c = process_cookies().make(io->peer, unix_now());
  std::memcpy(cookie, c.data(), c.size());
  *len = static_cast<unsigned int>(c.size());
  return 1;
}

int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int len) {
  DatagramIo* io = io_of(SSL_get_rbio(ssl));
  if (io == nullptr) return 0;
  return process_cookies().verify(io->peer, std::span(cookie, len), unix_now()) ? 1 : 0;
}

[[noreturn]] void fail(const std::string& what) {
  ERR_clear_error();
  throw std::runtime_error("dtls: " + what);
}

}  // namespace

DtlsCookies::DtlsCookies() {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw std::runtime_error("dtls: no random bytes for the cookie secret");
  }
}

DtlsCookies::Cookie DtlsCookies::mac(const protocol::TransportAddress& client,
                                     std::int64_t window) const {
  std::array<std::uint8_t, 8 + 1 + 16 + 2> input{};
  for (int i = 0; i < 8; ++i) input[i] = static_cast<std::uint8_t>(window >> (56 - 8 * i));
  input[8] = static_cast<std::uint8_t>(client.family);
  std::copy(client.ip.begin(), client.ip.end(), input.begin() + 9);
  input[25] = static_cast<std::uint8_t>(client.port >> 8);
  input[26] = static_cast<std::uint8_t>(client.port);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int full_len = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), input.data(), input.size(),
       full.data(), &full_len);
  Cookie out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

DtlsCookies::Cookie DtlsCookies::make(const protocol::TransportAddress& client,
                                      std::int64_t unix_seconds) const {
  return mac(client, unix_seconds / kCookieWindow);
}

bool DtlsCookies::verify(const protocol::TransportAddress& client,
                         std::span<const std::uint8_t> cookie, std::int64_t unix_seconds) const {
  if (cookie.size() != kSize) return false;
  const std::int64_t window = unix_seconds / kCookieWindow;
  for (const std::int64_t w : {window, window - 1}) {
    const Cookie expected = mac(client, w);
    if (CRYPTO_memcmp(expected.data(), cookie.data(), kSize) == 0) return true;
  }
  return false;
}

const DtlsCookies& process_cookies() {
  static const DtlsCookies cookies;
  return cookies;
}

bool is_client_hello(std::span<const std::uint8_t> d) noexcept {
  if (d.size() < kDtlsRecordHeader + kDtlsHandshakeHeader) return false;
  const std::size_t record_length = (std::size_t{d[11]} << 8) | d[12];
  return d[0] == kHandshake && d[1] == kDtlsMajor && d[3] == 0 && d[4] == 0 &&
         record_length >= kDtlsHandshakeHeader && record_length <= d.size() - kDtlsRecordHeader &&
         d[kDtlsRecordHeader] == kClientHello;
}

BIO* make_datagram_bio(DatagramIo* io) {
  BIO* b = BIO_new(datagram_method());
  if (b != nullptr) BIO_set_data(b, io);
  return b;
}

std::shared_ptr<const DtlsContext> DtlsContext::make(const TlsFiles& files) {
  SSL_CTX* ctx = SSL_CTX_new(DTLS_server_method());
  if (ctx == nullptr) fail("cannot create a context");
  std::shared_ptr<const DtlsContext> owned(new DtlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  set_common_tls_options(ctx, Alpn::kTurn);  // ALPN stun.turn over DTLS too (RFC 7443)
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_COOKIE_EXCHANGE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_cookie_generate_cb(ctx, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(ctx, verify_cookie);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    fail("cannot load certificate " + files.cert_file);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    fail("cannot load private key " + files.key_file);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) fail("certificate and key do not match");
  return owned;
}

DtlsContext::~DtlsContext() {
  SSL_CTX_free(ctx_);
}

SSL* DtlsContext::new_session(DatagramIo* io) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  BIO* bio = make_datagram_bio(io);
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways: SSL_set_bio takes the second reference
  DTLS_set_link_mtu(ssl, kDtlsLinkMtu);
  SSL_set_accept_state(ssl);
  return ssl;
}

}  // namespace tern::net
