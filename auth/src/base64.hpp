// Base64 of whole 3-byte groups (no padding), for the opaque tokens tern hands out.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tern::auth {

inline constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Whole 3-byte groups only, which is all tern's tokens need (no padding).
inline void encode(std::string_view alphabet, std::span<const std::uint8_t> in, std::string& out) {
  for (std::size_t i = 0; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16 | std::uint32_t{in[i + 1]} << 8 | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(alphabet[v >> shift & 63]);
  }
}

inline bool decode(std::string_view alphabet, std::string_view in,
                   std::span<std::uint8_t> out) noexcept {
  if (in.size() % 4 != 0 || in.size() / 4 * 3 != out.size()) return false;
  for (std::size_t i = 0, o = 0; i < in.size(); i += 4, o += 3) {
    std::uint32_t v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t d = alphabet.find(in[i + k]);
      if (d == std::string_view::npos) return false;
      v = v << 6 | static_cast<std::uint32_t>(d);
    }
    out[o] = static_cast<std::uint8_t>(v >> 16);
    out[o + 1] = static_cast<std::uint8_t>(v >> 8);
    out[o + 2] = static_cast<std::uint8_t>(v);
  }
  return true;
}

}  // namespace tern::auth
