// Reads a test vector (.hex: '#' comment lines, then hex) from tests/vectors/data into bytes.
#pragma once

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tern::testing {

// Bytes from hex digits; anything else (spaces, line breaks) is skipped.
inline std::vector<std::uint8_t> hex_bytes(std::string_view text) {
  std::string digits;
  for (char c : text) {
    if (std::isxdigit(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline std::vector<std::uint8_t> load_vector(const std::string& name) {
  std::ifstream in(std::string(TERN_VECTORS_DIR) + "/" + name);
  if (!in) throw std::runtime_error("missing vector " + name);
  std::string line, text;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') text += line;
  }
  return hex_bytes(text);
}

inline std::vector<std::uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

}  // namespace tern::testing
