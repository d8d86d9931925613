// Self-signed certificate generation (OpenSSL 3 EVP/X509 API) and the TLS server context.
#include "tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace tern::net {
namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(FILE* f) const { std::fclose(f); }
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
template <class T>
using Owned = std::unique_ptr<T, Deleter>;

void fail(const std::string& what) {
  throw std::runtime_error("tls: " + what);
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("cannot add certificate extension");
}

Owned<X509> make_certificate(EVP_PKEY* key) {
  Owned<X509> cert(X509_new());
  if (!cert) fail("out of memory");
  X509_set_version(cert.get(), 2);
  std::array<unsigned char, 16> serial{};
  std::FILE* urandom = std::fopen("/dev/urandom", "rb");
  if (urandom == nullptr || std::fread(serial.data(), 1, serial.size(), urandom) != serial.size()) {
    fail("cannot read /dev/urandom");
  }
  std::fclose(urandom);
  serial[0] &= 0x7F;
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("tern self-signed"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) fail("cannot sign certificate");
  return cert;
}

void write_pem(const std::filesystem::path& path, mode_t mode, auto&& writer) {
  const std::string tmp = path.string() + ".tmp";
  Owned<FILE> f(std::fopen(tmp.c_str(), "wb"));
  if (!f) fail("cannot write " + tmp);
  chmod(tmp.c_str(), mode);
  if (writer(f.get()) != 1) fail("cannot write " + tmp);
  f.reset();
  std::filesystem::rename(tmp, path);
}

}  // namespace

TlsFiles ensure_self_signed(const std::string& state_dir) {
  const std::filesystem::path dir = std::filesystem::path(state_dir) / "tls";
  TlsFiles files{(dir / "self-signed.crt").string(), (dir / "self-signed.key").string(), false};
  if (std::filesystem::exists(files.cert_file) && std::filesystem::exists(files.key_file)) {
    return files;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create " + dir.string() + ": " + ec.message());
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot generate a key");
  Owned<X509> cert = make_certificate(key.get());
  write_pem(files.key_file, 0600, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  write_pem(files.cert_file, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
  return files;
}

namespace {
constexpr unsigned char kAlpnTurn[] = "\x09stun.turn";  // length-prefixed, as on the wire
constexpr unsigned char kAlpnHttp[] = "\x08http/1.1";

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const auto* ours = static_cast<const unsigned char*>(arg);
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, outlen, ours, static_cast<unsigned>(ours[0]) + 1, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}
}  // namespace

void set_common_tls_options(SSL_CTX* ctx, Alpn alpn) {
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20");
  SSL_CTX_set_dh_auto(ctx, 1);  // without a DH group OpenSSL never picks a DHE suite
  SSL_CTX_set_alpn_select_cb(
      ctx, select_alpn, const_cast<unsigned char*>(alpn == Alpn::kTurn ? kAlpnTurn : kAlpnHttp));
}

std::unique_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files, Alpn alpn) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::no_compression | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  set_common_tls_options(native, alpn);
  // An idle connection gives its ~34 KiB of record buffers back (most TURN connections idle).
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_min_proto_version(native, files.tls13_only ? TLS1_3_VERSION : TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) fail("cannot load certificate " + files.cert_file + ": " + ec.message());
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) fail("cannot load private key " + files.key_file + ": " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) fail("certificate and key do not match");
  return ctx;
}

std::optional<std::int64_t> certificate_expiry(const std::string& cert_file) {
  FILE* f = std::fopen(cert_file.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  Owned<X509> cert(PEM_read_X509(f, nullptr, nullptr, nullptr));
  std::fclose(f);
  if (!cert) return std::nullopt;
  tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t) != 1) return std::nullopt;
  return static_cast<std::int64_t>(timegm(&t));
}

void SslFree::operator()(ssl_st* ssl) const noexcept {
  SSL_free(ssl);
}

}  // namespace tern::net
