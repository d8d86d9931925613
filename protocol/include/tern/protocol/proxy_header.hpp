// PROXY protocol headers (HAProxy's PROXY protocol, versions 1 and 2) that a load balancer puts
// ahead of a TCP stream to name the client it accepted.
#pragma once

#include <array>
#include <cstdint>

#include "tern/protocol/address.hpp"
#include "tern/protocol/message.hpp"

namespace tern::protocol {

// The 12 bytes every version 2 header starts with.
inline constexpr std::array<std::uint8_t, 12> kProxyV2Signature = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
inline constexpr std::size_t kProxyV1MaxSize = 107;  // "PROXY ... \r\n", CRLF included
inline constexpr std::size_t kProxyV1MinSize = 15;   // "PROXY UNKNOWN\r\n"
inline constexpr std::size_t kProxyV2HeaderSize = 16;
// tern's bound on a version 2 header with its TLVs (the format allows 16 + 65535 bytes);
// larger ones are refused rather than buffered.
inline constexpr std::size_t kProxyMaxSize = 4096;

struct ProxyHeader {
  std::uint8_t version = 0;  // 1 or 2
  std::size_t size = 0;      // bytes the header takes on the stream, TLVs included
  // False for a LOCAL command (a balancer's own health check), "PROXY UNKNOWN" and address
  // families without IP addresses: the connection's own endpoints stand.
  bool has_addresses = false;
  bool datagram = false;  // version 2 says the proxied transport was UDP
  TransportAddress source;
  TransportAddress destination;
};

// How many more bytes the header at the front of `buffered` certainly needs (never more than
// it takes, so a reader that reads exactly this many never swallows what follows the header);
// 0 when it is complete. kBadProxyHeader as soon as the bytes cannot start a header or the
// header breaks the format or tern's size bound.
Result<std::size_t> proxy_header_missing(Bytes buffered) noexcept;

// Parses the complete header at the front of `buffered` (proxy_header_missing said 0).
Result<ProxyHeader> parse_proxy_header(Bytes buffered) noexcept;

// The bytes begin like a version 1 or 2 header ("PROXY " or the version 2 signature), as far
// as there are bytes.
bool starts_like_proxy_header(Bytes buffered) noexcept;

}  // namespace tern::protocol
