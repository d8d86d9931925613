// classify_stream and scan_client_hello: bounds-checked reads of the first bytes of a stream.
#include "tern/protocol/first_bytes.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string_view>

namespace tern::protocol {
namespace {

constexpr std::uint8_t kRecordHandshake = 22;
constexpr std::uint8_t kHandshakeClientHello = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecordPayload = 16384;  // TLSPlaintext.length (RFC 8446 §5.1)
constexpr std::uint16_t kExtServerName = 0;
constexpr std::uint16_t kExtAlpn = 16;

constexpr std::array<std::string_view, 9> kMethods = {
    "GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "};

// A cursor over a span that refuses to read past its end.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}
  bool has(std::size_t n) const { return b_.size() - pos_ >= n; }
  std::size_t left() const { return b_.size() - pos_; }
  std::optional<std::size_t> number(std::size_t bytes) {
    if (!has(bytes)) return std::nullopt;
    std::size_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | b_[pos_ + i];
    pos_ += bytes;
    return v;
  }
  std::optional<std::span<const std::uint8_t>> take(std::size_t n) {
    if (!has(n)) return std::nullopt;
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  // A length-prefixed vector (the length takes `prefix` bytes).
  std::optional<std::span<const std::uint8_t>> vector(std::size_t prefix) {
    auto n = number(prefix);
    if (!n) return std::nullopt;
    return take(*n);
  }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

std::string text(std::span<const std::uint8_t> s) {
  return {reinterpret_cast<const char*>(s.data()), s.size()};
}

bool read_alpn(std::span<const std::uint8_t> data, std::vector<std::string>& out) {
  Reader r(data);
  auto list = r.vector(2);
  if (!list || r.left() != 0 || list->empty()) return false;
  Reader names(*list);
  while (names.left() > 0) {
    auto name = names.vector(1);
    if (!name || name->empty()) return false;
    out.push_back(text(*name));
  }
  return true;
}

bool read_server_name(std::span<const std::uint8_t> data, std::string& out) {
  Reader r(data);
  auto list = r.vector(2);
  if (!list || r.left() != 0) return false;
  Reader names(*list);
  while (names.left() > 0) {
    auto type = names.number(1);
    auto name = names.vector(2);
    if (!type || !name) return false;
    if (*type == 0 && out.empty()) out = text(*name);  // host_name
  }
  return true;
}

// The ClientHello body (RFC 8446 §4.1.2; TLS 1.2's has the same layout).
bool read_client_hello(std::span<const std::uint8_t> body, ClientHelloScan& scan) {
  Reader r(body);
  if (!r.take(2 + 32)) return false;  // legacy_version, random
  auto session = r.vector(1);
  auto suites = r.vector(2);
  auto compression = r.vector(1);
  if (!session || session->size() > 32 || !suites || suites->empty() || suites->size() % 2 != 0 ||
      !compression || compression->empty()) {
    return false;
  }
  if (r.left() == 0) return true;  // no extensions
  auto extensions = r.vector(2);
  if (!extensions || r.left() != 0) return false;
  Reader e(*extensions);
  while (e.left() > 0) {
    auto type = e.number(2);
    auto data = e.vector(2);
    if (!type || !data) return false;
    if (*type == kExtAlpn && !read_alpn(*data, scan.alpn)) return false;
    if (*type == kExtServerName && !read_server_name(*data, scan.server_name)) return false;
  }
  return true;
}

ClientHelloScan need(std::size_t bytes) {
  ClientHelloScan s;
  if (bytes > kMaxClientHelloBytes) {
    s.status = ClientHelloScan::Status::kMalformed;
  } else {
    s.needed = bytes;
  }
  return s;
}

ClientHelloScan malformed() {
  ClientHelloScan s;
  s.status = ClientHelloScan::Status::kMalformed;
  return s;
}

}  // namespace

StreamKind classify_stream(std::span<const std::uint8_t> first) noexcept {
  if (first.empty()) return StreamKind::kUnknown;
  if (first[0] == kRecordHandshake) {
    if (first.size() < 2) return StreamKind::kUnknown;
    return first[1] == 3 ? StreamKind::kTls : StreamKind::kOther;
  }
  if (first[0] < 0x40) return StreamKind::kTurn;  // a STUN message type's first byte
  const std::string_view seen(reinterpret_cast<const char*>(first.data()),
                              std::min<std::size_t>(first.size(), 8));
  bool could_be = false;
  for (const auto method : kMethods) {
    if (seen.size() >= method.size() && seen.substr(0, method.size()) == method) {
      return StreamKind::kHttp;
    }
    if (seen.size() < method.size() && method.substr(0, seen.size()) == seen) could_be = true;
  }
  return could_be ? StreamKind::kUnknown : StreamKind::kOther;
}

ClientHelloScan scan_client_hello(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxClientHelloBytes) bytes = bytes.first(kMaxClientHelloBytes);
  std::vector<std::uint8_t> handshake;
  std::size_t pos = 0;
  while (true) {
    if (bytes.size() - pos < kRecordHeader) return need(pos + kRecordHeader);
    const auto* h = bytes.data() + pos;
    const std::size_t length = (std::size_t{h[3]} << 8) | h[4];
    if (h[0] != kRecordHandshake || h[1] != 3 || length == 0 || length > kMaxRecordPayload) {
      return malformed();
    }
    if (bytes.size() - pos - kRecordHeader < length) return need(pos + kRecordHeader + length);
    handshake.insert(handshake.end(), h + kRecordHeader, h + kRecordHeader + length);
    pos += kRecordHeader + length;
    if (handshake.size() < 4) continue;
    if (handshake[0] != kHandshakeClientHello) return malformed();
    const std::size_t body =
        (std::size_t{handshake[1]} << 16) | (std::size_t{handshake[2]} << 8) | handshake[3];
    if (4 + body > kMaxClientHelloBytes) return malformed();
    if (handshake.size() < 4 + body) continue;
    ClientHelloScan scan;
    if (!read_client_hello(std::span(handshake).subspan(4, body), scan)) return malformed();
    scan.status = ClientHelloScan::Status::kComplete;
    return scan;
  }
}

}  // namespace tern::protocol
