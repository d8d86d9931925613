// A transport address (IP family, address bytes, port) without any socket library.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace tern::protocol {

// Wire values of the STUN address family field (RFC 8489 §14.1).
enum class Family : std::uint8_t { kIPv4 = 0x01, kIPv6 = 0x02 };

struct TransportAddress {
  Family family = Family::kIPv4;
  std::array<std::uint8_t, 16> ip{};  // IPv4 uses the first 4 bytes; the rest stay zero
  std::uint16_t port = 0;

  std::size_t ip_size() const noexcept { return family == Family::kIPv4 ? 4 : 16; }
  friend bool operator==(const TransportAddress&, const TransportAddress&) = default;

  static TransportAddress v4(std::uint32_t host_order_ip, std::uint16_t port) noexcept;
  // Parses "1.2.3.4" or "2001:db8::1" (no brackets). Returns false on bad syntax.
  static bool parse_ip(const std::string& text, TransportAddress& out) noexcept;
  // Parses "1.2.3.4:5" or "[2001:db8::1]:5" (the form to_string writes; port 0-65535).
  // Returns false on bad syntax, a host name or a bad port.
  static bool parse(const std::string& text, TransportAddress& out) noexcept;
  // "1.2.3.4:5" or "[2001:db8::1]:5".
  std::string to_string() const;
};

}  // namespace tern::protocol
