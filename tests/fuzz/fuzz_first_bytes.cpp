// libFuzzer target: the shared-port classifier and the ClientHello scanner. A reader that reads
// exactly what scan_client_hello asks for must reach the answer it gives on the whole input; a
// definite classification of a prefix must hold for the whole input.
#include <cstddef>
#include <cstdint>
#include <span>

#include "require.hpp"
#include "tern/protocol/first_bytes.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  const StreamKind whole = classify_stream(input);
  for (std::size_t n = 0; n <= size && n <= 8; ++n) {
    const StreamKind part = classify_stream(input.first(n));
    if (part != StreamKind::kUnknown) require(part == whole);
  }
  const ClientHelloScan full = scan_client_hello(input);
  std::size_t taken = 0;
  ClientHelloScan scan = scan_client_hello(input.first(0));
  while (scan.status == ClientHelloScan::Status::kNeedMore) {
    require(scan.needed > taken && scan.needed <= kMaxClientHelloBytes);
    if (scan.needed > size) {
      require(full.status == ClientHelloScan::Status::kNeedMore);
      return 0;
    }
    taken = scan.needed;
    scan = scan_client_hello(input.first(taken));
  }
  require(scan.status == full.status);
  if (scan.status == ClientHelloScan::Status::kComplete) {
    require(scan.alpn == full.alpn && scan.server_name == full.server_name);
    if (!full.alpn.empty()) require(whole == StreamKind::kTls);
  }
  return 0;
}
