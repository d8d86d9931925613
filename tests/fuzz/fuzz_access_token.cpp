// libFuzzer target: RFC 7635 access tokens. Arbitrary bytes never open (nor crash, nor read
// out of bounds) unless they are a sealed token; fields sealed from the input open back whole.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "require.hpp"
#include "tern/auth/access_token.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::auth;

const OAuthKey kKey{
    TokenAlgorithm::kA128Gcm,
    {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  if (auto opened = open_access_token(input, kKey, "fuzz.example")) {
    require(!opened->mac_key.empty() && opened->mac_key.size() <= kMaxMacKey);
  }
  // The first byte picks a mac_key length; the rest fill the fields and the nonce.
  if (size < 1 + kTokenNonceSize + 12) return 0;
  const std::size_t mac_size = 1 + data[0] % kMaxMacKey;
  if (size < 1 + kTokenNonceSize + 12 + mac_size) return 0;
  AccessToken t;
  t.mac_key.assign(data + 1, data + 1 + mac_size);
  const std::uint8_t* p = data + 1 + mac_size;
  for (int i = 0; i < 8; ++i) t.timestamp = (t.timestamp << 8) | p[i];
  for (int i = 8; i < 12; ++i) t.lifetime = (t.lifetime << 8) | p[i];
  std::array<std::uint8_t, kTokenNonceSize> nonce{};
  std::copy(p + 12, p + 12 + kTokenNonceSize, nonce.begin());
  const auto sealed = seal_access_token(t, kKey, "fuzz.example", nonce);
  const auto back = open_access_token(sealed, kKey, "fuzz.example");
  require(back && back->mac_key == t.mac_key && back->timestamp == t.timestamp &&
          back->lifetime == t.lifetime);
  require(!open_access_token(sealed, kKey, "fuzz.example."));
  return 0;
}
