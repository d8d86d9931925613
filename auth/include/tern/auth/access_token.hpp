// RFC 7635 self-contained access tokens: an AES-GCM sealed (mac_key, timestamp, lifetime) that
// an authorization server issues and tern opens with the key the token's key id names.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tern::auth {

enum class TokenAlgorithm : std::uint8_t { kA128Gcm, kA256Gcm };

struct OAuthKey {
  TokenAlgorithm algorithm = TokenAlgorithm::kA256Gcm;
  std::vector<std::uint8_t> key;  // 16 or 32 bytes
};

// What a token carries (RFC 7635 §6.2).
struct AccessToken {
  std::vector<std::uint8_t> mac_key;  // the session's HMAC key
  std::uint64_t timestamp = 0;        // 48 bits of Unix seconds, 16 bits of 1/64000 s
  std::uint32_t lifetime = 0;         // seconds

  std::chrono::system_clock::time_point issued() const;
  static std::uint64_t timestamp_of(std::chrono::system_clock::time_point t);
};

inline constexpr std::size_t kTokenNonceSize = 12;  // AES-GCM's nonce, as the RFC's examples
inline constexpr std::size_t kTokenTagSize = 16;
inline constexpr std::size_t kMaxMacKey = 64;

// Opens `token` (nonce length, nonce, ciphertext, tag) sealed with `key` for `server_name`
// (the AEAD's associated data). nullopt when it does not open or what it holds breaks the
// format; lengths are checked before anything is copied.
std::optional<AccessToken> open_access_token(std::span<const std::uint8_t> token,
                                             const OAuthKey& key, std::string_view server_name);
// The inverse, for tests and tools.
std::vector<std::uint8_t> seal_access_token(const AccessToken& token, const OAuthKey& key,
                                            std::string_view server_name,
                                            std::span<const std::uint8_t, kTokenNonceSize> nonce);

// The keys tern holds, by key id, and the server name tokens are sealed for.
class OAuthKeyring {
 public:
  struct Entry {
    std::string kid;
    std::string algorithm;   // "A256GCM" | "A128GCM"
    std::string key_base64;  // at least 32 (16) bytes once decoded; the first 32 (16) are used
  };
  struct Built;

  // Whether `algorithm` and `key_base64` make a key; `problem` says why not.
  static bool check_key(std::string_view algorithm, std::string_view key_base64,
                        std::string* problem = nullptr);
  static Built build(std::string server_name, std::span<const Entry> entries);

  const OAuthKey* find(std::string_view kid) const;
  const std::string& server_name() const noexcept { return server_name_; }
  bool empty() const noexcept { return keys_.empty(); }

 private:
  std::string server_name_;
  std::map<std::string, OAuthKey, std::less<>> keys_;
};

struct OAuthKeyring::Built {
  std::optional<OAuthKeyring> keyring;  // set when errors is empty
  std::vector<std::string> errors;
};

// Standard base64 (with or without padding); empty when `text` is not base64.
std::vector<std::uint8_t> from_base64(std::string_view text);

}  // namespace tern::auth
