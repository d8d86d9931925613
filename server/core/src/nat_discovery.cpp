// RFC 5780 §6 NAT behaviour discovery: Binding answered from the address and port CHANGE-REQUEST
// asks for, to the port RESPONSE-PORT names, with RESPONSE-ORIGIN and OTHER-ADDRESS.
#include <algorithm>
#include <array>

#include "handlers.hpp"
#include "tern/protocol/bytes.hpp"

namespace tern::core {
namespace {

namespace attr = protocol::attr;
using protocol::TransportAddress;

constexpr std::uint32_t kChangeIp = 0x4;
constexpr std::uint32_t kChangePort = 0x2;

bool same_ip(const TransportAddress& a, const TransportAddress& b) {
  return a.family == b.family && a.ip == b.ip;
}

TransportAddress with_ip_of(TransportAddress a, const TransportAddress& ip_from) {
  a.family = ip_from.family;
  a.ip = ip_from.ip;
  return a;
}

}  // namespace

bool nat_discovery_address(const ServerOptions::NatDiscovery& nd,
                           const TransportAddress& arrived) noexcept {
  return (same_ip(arrived, nd.primary) || same_ip(arrived, nd.alternate)) &&
         (arrived.port == nd.primary.port || arrived.port == nd.alternate.port);
}

Reply handle_nat_discovery_binding(const Request& req, const ServerOptions& options,
                                   std::span<std::uint8_t> buf, FiveTuple& reply_to) noexcept {
  const auto& nd = *options.nat_discovery;
  const auto& m = req.message;
  const TransportAddress& arrived = req.flow.server;  // Da:Dp
  if (!nat_discovery_address(nd, arrived)) return handle_binding(req, options, buf);
  // Ca:Cp: the IP and the port the request did not arrive on.
  TransportAddress other =
      with_ip_of(arrived, same_ip(arrived, nd.primary) ? nd.alternate : nd.primary);
  other.port = arrived.port == nd.primary.port ? nd.alternate.port : nd.primary.port;
  const auto change = m.find_value(attr::kChangeRequest);
  const auto response_port = m.find_value(attr::kResponsePort);
  const auto padding = m.find_value(attr::kPadding);
  // PADDING sent to another port would make tern a reflector of large datagrams (RFC 5780 §7.6).
  if ((change && change->size() != 4) || (response_port && response_port->size() != 4) ||
      (padding && response_port)) {
    return error_response(req, options, ErrorCode::kBadRequest, buf);
  }
  TransportAddress source = arrived;
  if (change) {
    const std::uint32_t flags = protocol::load_be32(change->data());
    if (flags & kChangeIp) source = with_ip_of(source, other);
    if (flags & kChangePort) source.port = other.port;
  }
  TransportAddress destination = req.flow.client;
  if (response_port) destination.port = protocol::load_be16(response_port->data());
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, buf);
  b.add_xor_address(attr::kXorMappedAddress, req.flow.client);
  b.add_address(attr::kMappedAddress, req.flow.client);
  b.add_address(attr::kResponseOrigin, source);
  b.add_address(attr::kOtherAddress, other);
  // As much padding as the request carried: the answer is no larger than the question.
  static constexpr std::array<std::uint8_t, 4096> kZeros{};  // UDP datagrams are no larger
  if (padding)
    b.add(attr::kPadding, std::span(kZeros).first(std::min(padding->size(), kZeros.size())));
  reply_to = req.flow;
  reply_to.server = source;
  reply_to.client = destination;
  return finish_response(req, options, b);
}

}  // namespace tern::core
