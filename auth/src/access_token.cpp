// RFC 7635 §6.2 access tokens sealed with AES-128-GCM or AES-256-GCM (OpenSSL EVP).
#include "tern/auth/access_token.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace tern::auth {
namespace {

using Bytes = std::span<const std::uint8_t>;

constexpr std::size_t kFixedPlaintext = 2 + 8 + 4;  // key length, timestamp, lifetime

std::uint64_t load_be(Bytes b) {
  std::uint64_t v = 0;
  for (std::uint8_t byte : b) v = (v << 8) | byte;
  return v;
}

// Writes the low `bytes` bytes of `v` at `p`, big-endian; returns the position after them.
std::uint8_t* store_be(std::uint8_t* p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) *p++ = static_cast<std::uint8_t>(v >> (8 * i));
  return p;
}

const EVP_CIPHER* cipher_of(const OAuthKey& key) {
  return key.algorithm == TokenAlgorithm::kA128Gcm ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
}

std::size_t key_size(TokenAlgorithm a) {
  return a == TokenAlgorithm::kA128Gcm ? 16 : 32;
}

std::optional<TokenAlgorithm> algorithm_of(std::string_view name) {
  if (name == "A256GCM") return TokenAlgorithm::kA256Gcm;
  if (name == "A128GCM") return TokenAlgorithm::kA128Gcm;
  return std::nullopt;
}

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// AES-GCM one way or the other; `tag` is read (decrypt) or written (encrypt).
bool run_gcm(bool encrypt, const OAuthKey& key, Bytes nonce, std::string_view aad, Bytes in,
             std::uint8_t* out, std::uint8_t* tag) {
  if (key.key.size() != key_size(key.algorithm)) return false;
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) return false;
  int len = 0;
  const auto* a = reinterpret_cast<const unsigned char*>(aad.data());
  const bool ok =
      EVP_CipherInit_ex(ctx.get(), cipher_of(key), nullptr, nullptr, nullptr, encrypt ? 1 : 0) ==
          1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) == 1 &&
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, key.key.data(), nonce.data(), -1) == 1 &&
      EVP_CipherUpdate(ctx.get(), nullptr, &len, a, static_cast<int>(aad.size())) == 1 &&
      EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) == 1 &&
      (encrypt || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTokenTagSize, tag) == 1) &&
      EVP_CipherFinal_ex(ctx.get(), out + len, &len) == 1;
  if (!ok) return false;
  return !encrypt || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTokenTagSize, tag) == 1;
}

}  // namespace

std::chrono::system_clock::time_point AccessToken::issued() const {
  const auto seconds = std::chrono::seconds(static_cast<std::int64_t>(timestamp >> 16));
  const auto fraction = std::chrono::microseconds((timestamp & 0xFFFF) * 1'000'000 / 64'000);
  return std::chrono::system_clock::time_point(seconds + fraction);
}

std::uint64_t AccessToken::timestamp_of(std::chrono::system_clock::time_point t) {
  const auto since = t.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since - seconds);
  const auto fraction = static_cast<std::uint64_t>(micros.count()) * 64'000 / 1'000'000;
  return (static_cast<std::uint64_t>(seconds.count()) << 16) | fraction;
}

std::optional<AccessToken> open_access_token(Bytes token, const OAuthKey& key,
                                             std::string_view server_name) {
  if (token.size() < 2 || load_be(token.first(2)) != kTokenNonceSize) return std::nullopt;
  const Bytes rest = token.subspan(2);
  if (rest.size() < kTokenNonceSize + kFixedPlaintext + kTokenTagSize) return std::nullopt;
  const Bytes nonce = rest.first(kTokenNonceSize);
  const Bytes sealed = rest.subspan(kTokenNonceSize, rest.size() - kTokenNonceSize - kTokenTagSize);
  if (sealed.size() > kFixedPlaintext + kMaxMacKey) return std::nullopt;
  std::array<std::uint8_t, kTokenTagSize> tag{};
  std::copy(rest.end() - kTokenTagSize, rest.end(), tag.begin());
  std::array<std::uint8_t, kFixedPlaintext + kMaxMacKey> plain{};
  if (!run_gcm(false, key, nonce, server_name, sealed, plain.data(), tag.data())) {
    return std::nullopt;
  }
  const Bytes p(plain.data(), sealed.size());
  const std::size_t key_length = load_be(p.first(2));
  if (key_length == 0 || 2 + key_length + 12 != p.size()) return std::nullopt;
  AccessToken out;
  out.mac_key.assign(p.begin() + 2, p.begin() + 2 + static_cast<std::ptrdiff_t>(key_length));
  out.timestamp = load_be(p.subspan(2 + key_length, 8));
  out.lifetime = static_cast<std::uint32_t>(load_be(p.subspan(2 + key_length + 8, 4)));
  return out;
}

std::vector<std::uint8_t> seal_access_token(const AccessToken& token, const OAuthKey& key,
                                            std::string_view server_name,
                                            std::span<const std::uint8_t, kTokenNonceSize> nonce) {
  std::vector<std::uint8_t> plain(kFixedPlaintext + token.mac_key.size());
  std::uint8_t* p = store_be(plain.data(), token.mac_key.size(), 2);
  p = std::copy(token.mac_key.begin(), token.mac_key.end(), p);
  p = store_be(p, token.timestamp, 8);
  store_be(p, token.lifetime, 4);
  // Sized once: nonce length, nonce, then the ciphertext and its tag written in place.
  std::vector<std::uint8_t> out(2 + kTokenNonceSize + plain.size() + kTokenTagSize);
  out[1] = static_cast<std::uint8_t>(kTokenNonceSize);
  std::copy(nonce.begin(), nonce.end(), out.begin() + 2);
  std::uint8_t* sealed = out.data() + 2 + kTokenNonceSize;
  if (!run_gcm(true, key, nonce, server_name, plain, sealed, sealed + plain.size())) return {};
  return out;
}

std::vector<std::uint8_t> from_base64(std::string_view text) {
  std::string padded(text);
  while (!padded.empty() && padded.size() % 4 != 0) padded.push_back('=');
  if (padded.empty()) return {};
  std::size_t pad = 0;
  for (std::size_t i = 0; i < padded.size(); ++i) {
    const char c = padded[i];
    const bool tail = i + 2 >= padded.size() && c == '=';
    if (pad > 0 && !tail) return {};
    if (tail) {
      ++pad;
      continue;
    }
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return {};
  }
  std::vector<std::uint8_t> out(padded.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(padded.data()),
                                static_cast<int>(padded.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return {};
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

bool OAuthKeyring::check_key(std::string_view algorithm, std::string_view key_base64,
                             std::string* problem) {
  const auto a = algorithm_of(algorithm);
  if (!a) {
    if (problem) *problem = "algorithm must be A256GCM or A128GCM";
    return false;
  }
  if (from_base64(key_base64).size() < key_size(*a)) {
    if (problem) {
      *problem = "key must be base64 of at least " + std::to_string(key_size(*a)) + " bytes";
    }
    return false;
  }
  return true;
}

OAuthKeyring::Built OAuthKeyring::build(std::string server_name, std::span<const Entry> entries) {
  Built built;
  OAuthKeyring ring;
  ring.server_name_ = std::move(server_name);
  for (const auto& e : entries) {
    std::string problem;
    if (!check_key(e.algorithm, e.key_base64, &problem)) {
      built.errors.push_back("oauth key '" + e.kid + "': " + problem);
      continue;
    }
    OAuthKey key;
    key.algorithm = *algorithm_of(e.algorithm);
    key.key = from_base64(e.key_base64);
    key.key.resize(key_size(key.algorithm));
    if (!ring.keys_.emplace(e.kid, std::move(key)).second) {
      built.errors.push_back("oauth key '" + e.kid + "' appears twice");
    }
  }
  if (built.errors.empty()) built.keyring = std::move(ring);
  return built;
}

const OAuthKey* OAuthKeyring::find(std::string_view kid) const {
  auto it = keys_.find(kid);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace tern::auth
