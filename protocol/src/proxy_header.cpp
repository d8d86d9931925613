// PROXY protocol version 1 (one text line) and version 2 (binary) headers.
#include "tern/protocol/proxy_header.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "tern/protocol/bytes.hpp"

namespace tern::protocol {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::uint8_t kCommandLocal = 0x0;
constexpr std::uint8_t kCommandProxy = 0x1;
constexpr std::uint8_t kFamilyUnspec = 0x0;
constexpr std::uint8_t kFamilyInet = 0x1;
constexpr std::uint8_t kFamilyInet6 = 0x2;
constexpr std::uint8_t kFamilyUnix = 0x3;
constexpr std::uint8_t kTransportDgram = 0x2;
constexpr std::size_t kInetBlock = 12;   // two IPv4 addresses, two ports
constexpr std::size_t kInet6Block = 36;  // two IPv6 addresses, two ports
constexpr std::size_t kUnixBlock = 216;  // two 108-byte socket paths

Result<std::size_t> bad() noexcept {
  return Error::kBadProxyHeader;
}

bool is_v2(Bytes b) noexcept {
  const std::size_t n = std::min(b.size(), kProxyV2Signature.size());
  return std::equal(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n),
                    kProxyV2Signature.begin());
}

bool is_v1(Bytes b) noexcept {
  const std::size_t n = std::min(b.size(), kV1Prefix.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] != static_cast<std::uint8_t>(kV1Prefix[i])) return false;
  }
  return true;
}

// The version 1 line ends at the first CRLF; a lone CR or LF, or no CRLF within the bound, is
// not a header.
Result<std::size_t> v1_missing(Bytes b) noexcept {
  const std::size_t n = std::min(b.size(), kProxyV1MaxSize);
  for (std::size_t i = 0; i < n; ++i) {
    if (b[i] == '\n') return bad();
    if (b[i] != '\r') continue;
    if (i + 1 >= kProxyV1MaxSize) return bad();  // its LF would be past the bound
    if (i + 1 == b.size()) return std::size_t{1};
    return b[i + 1] == '\n' ? Result<std::size_t>(std::size_t{0}) : bad();
  }
  if (b.size() >= kProxyV1MaxSize) return bad();
  return std::max(kProxyV1MinSize, b.size() + 1) - b.size();
}

Result<std::size_t> v2_missing(Bytes b) noexcept {
  if (b.size() > 12 && (b[12] >> 4 != 2 || (b[12] & 0x0F) > kCommandProxy)) return bad();
  if (b.size() > 13 && ((b[13] >> 4) > kFamilyUnix || (b[13] & 0x0F) > kTransportDgram)) {
    return bad();
  }
  if (b.size() < kProxyV2HeaderSize) return kProxyV2HeaderSize - b.size();
  const std::size_t total = kProxyV2HeaderSize + load_be16(b.data() + 14);
  if (total > kProxyMaxSize) return bad();
  return total > b.size() ? total - b.size() : 0;
}

bool parse_port(std::string_view text, std::uint16_t& port) noexcept {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_ip_in(std::string_view text, Family family, TransportAddress& out) {
  return TransportAddress::parse_ip(std::string(text), out) && out.family == family;
}

Result<ProxyHeader> parse_v1(Bytes b, std::size_t line_end) {
  const std::string_view line(reinterpret_cast<const char*>(b.data()), line_end);
  if (std::any_of(line.begin(), line.end(), [](char c) { return c < 0x20 || c > 0x7E; })) {
    return Error::kBadProxyHeader;
  }
  std::vector<std::string_view> words;
  for (std::size_t pos = 0; pos <= line.size();) {
    const std::size_t space = std::min(line.find(' ', pos), line.size());
    words.push_back(line.substr(pos, space - pos));
    pos = space + 1;
  }
  ProxyHeader h;
  h.version = 1;
  h.size = line_end + 2;
  if (words.size() >= 2 && words[1] == "UNKNOWN") return h;  // the rest of the line is ignored
  if (words.size() != 6) return Error::kBadProxyHeader;
  const Family family = words[1] == "TCP4"   ? Family::kIPv4
                        : words[1] == "TCP6" ? Family::kIPv6
                                             : Family{};
  if (family != Family::kIPv4 && family != Family::kIPv6) return Error::kBadProxyHeader;
  if (!parse_ip_in(words[2], family, h.source) || !parse_ip_in(words[3], family, h.destination) ||
      !parse_port(words[4], h.source.port) || !parse_port(words[5], h.destination.port)) {
    return Error::kBadProxyHeader;
  }
  h.has_addresses = true;
  return h;
}

TransportAddress read_address(const std::uint8_t* ip, std::size_t ip_size,
                              const std::uint8_t* port) {
  TransportAddress a;
  a.family = ip_size == 4 ? Family::kIPv4 : Family::kIPv6;
  std::copy(ip, ip + ip_size, a.ip.begin());
  a.port = load_be16(port);
  return a;
}

// TLVs after the address block: each a type byte and a 16-bit length that must fit.
bool tlvs_fit(Bytes tlvs) noexcept {
  std::size_t pos = 0;
  while (pos < tlvs.size()) {
    if (tlvs.size() - pos < 3) return false;
    const std::size_t length = load_be16(tlvs.data() + pos + 1);
    if (tlvs.size() - pos - 3 < length) return false;
    pos += 3 + length;
  }
  return true;
}

Result<ProxyHeader> parse_v2(Bytes b) {
  ProxyHeader h;
  h.version = 2;
  h.size = kProxyV2HeaderSize + load_be16(b.data() + 14);
  const Bytes body = b.subspan(kProxyV2HeaderSize, h.size - kProxyV2HeaderSize);
  const std::uint8_t family = b[13] >> 4;
  h.datagram = (b[13] & 0x0F) == kTransportDgram;
  std::size_t block = 0;
  if (family == kFamilyInet) block = kInetBlock;
  if (family == kFamilyInet6) block = kInet6Block;
  if (family == kFamilyUnix) block = kUnixBlock;
  if ((b[12] & 0x0F) == kCommandLocal) return h;  // addresses and TLVs are not looked at
  if (body.size() < block || !tlvs_fit(body.subspan(block))) return Error::kBadProxyHeader;
  if (family == kFamilyUnspec || family == kFamilyUnix) return h;
  const std::size_t ip = family == kFamilyInet ? 4 : 16;
  h.source = read_address(body.data(), ip, body.data() + 2 * ip);
  h.destination = read_address(body.data() + ip, ip, body.data() + 2 * ip + 2);
  h.has_addresses = true;
  return h;
}

}  // namespace

bool starts_like_proxy_header(Bytes buffered) noexcept {
  return !buffered.empty() && (is_v1(buffered) || is_v2(buffered));
}

Result<std::size_t> proxy_header_missing(Bytes buffered) noexcept {
  if (buffered.empty()) return kProxyV1MinSize;
  if (is_v2(buffered)) return v2_missing(buffered);
  if (is_v1(buffered)) return v1_missing(buffered);
  return bad();
}

Result<ProxyHeader> parse_proxy_header(Bytes buffered) noexcept {
  const auto missing = proxy_header_missing(buffered);
  if (!missing) return missing.error();
  if (*missing != 0) return Error::kTruncated;
  if (is_v2(buffered)) return parse_v2(buffered);
  const auto crlf = std::string_view(reinterpret_cast<const char*>(buffered.data()),
                                     std::min(buffered.size(), kProxyV1MaxSize))
                        .find("\r\n");
  if (crlf == std::string_view::npos) return Error::kBadProxyHeader;
  return parse_v1(buffered, crlf);
}

}  // namespace tern::protocol
