// libFuzzer target: PROXY protocol headers. A reader that takes exactly what
// proxy_header_missing asks for must stop at the header's end, agree with parse_proxy_header on
// the whole input, and never buffer past tern's bound.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "require.hpp"
#include "tern/protocol/proxy_header.hpp"

namespace {

using tern::fuzz::require;

using namespace tern::protocol;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes input(data, size);
  std::size_t taken = 0;
  bool refused = false;
  while (true) {
    const auto missing = proxy_header_missing(input.first(taken));
    if (!missing) {
      refused = true;
      break;
    }
    if (*missing == 0 || taken + *missing > size) break;
    taken += *missing;
    require(taken <= kProxyMaxSize);
  }
  const auto whole = parse_proxy_header(input);
  if (refused) {
    require(!whole);
    return 0;
  }
  const auto exact = parse_proxy_header(input.first(taken));
  if (!exact) return 0;  // incomplete, or complete and malformed
  // Complete: the reader stopped exactly at the header's end, and more bytes change nothing.
  require(exact->size == taken && taken <= kProxyMaxSize);
  require(exact->version == 1 ? taken <= kProxyV1MaxSize : taken >= kProxyV2HeaderSize);
  require(whole && whole->size == exact->size && whole->source == exact->source &&
          whole->destination == exact->destination && whole->has_addresses == exact->has_addresses);
  require(starts_like_proxy_header(input));
  return 0;
}
