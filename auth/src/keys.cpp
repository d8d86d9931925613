// Key derivations for long-term credentials and TURN REST passwords, through OpenSSL.
#include "tern/auth/keys.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <initializer_list>

namespace tern::auth {
namespace {

template <std::size_t N>
std::array<std::uint8_t, N> digest(const EVP_MD* md, std::string_view text) {
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, md, nullptr);
  return out;
}

std::string joined(std::initializer_list<std::string_view> parts) {
  std::string s;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) s.push_back(':');
    s.append(p);
    first = false;
  }
  return s;
}

}  // namespace

Md5Key md5_key(std::string_view username, std::string_view realm, std::string_view password) {
  return digest<16>(EVP_md5(), joined({username, realm, password}));
}

Sha256Key sha256_key(std::string_view username, std::string_view realm, std::string_view password) {
  return digest<32>(EVP_sha256(), joined({username, realm, password}));
}

Sha256Key userhash(std::string_view username, std::string_view realm) {
  return digest<32>(EVP_sha256(), joined({username, realm}));
}

std::string rest_password(std::string_view secret, std::string_view username) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac.data(), &len);
  std::string out(4 * ((len + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac.data(),
                                static_cast<int>(len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string secret_fingerprint(std::string_view secret) {
  const auto d = digest<32>(EVP_sha256(), secret);
  return to_hex(std::span(d).first(4));
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

std::vector<std::uint8_t> from_hex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out;
  if (hex.size() % 2 != 0) return out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return {};
    out.push_back(static_cast<std::uint8_t>(hi << 4 | lo));
  }
  return out;
}

}  // namespace tern::auth
