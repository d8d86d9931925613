// Binding (RFC 8489 §12): reflect the client's transport address in XOR-MAPPED-ADDRESS.
#include "handlers.hpp"

namespace tern::core {

Reply handle_binding(const Request& req, const ServerOptions& options,
                     std::span<std::uint8_t> buf) noexcept {
  auto b = start_response(req, protocol::MessageClass::kSuccessResponse, buf);
  b.add_xor_address(protocol::attr::kXorMappedAddress, req.flow.client);
  return finish_response(req, options, b);
}

Reply handle_classic_binding(const Request& req, std::span<std::uint8_t> buf) noexcept {
  const auto type =
      protocol::message_type(protocol::Method::kBinding, protocol::MessageClass::kSuccessResponse);
  protocol::MessageBuilder b(buf, type, req.message.header_id());
  b.add_address(protocol::attr::kMappedAddress, req.flow.client);
  auto done = b.finish();
  return done ? *done : Reply{};
}

Reply classic_server_error(const Request& req, std::span<std::uint8_t> buf) noexcept {
  const auto type = protocol::message_type(static_cast<protocol::Method>(req.message.method()),
                                           protocol::MessageClass::kErrorResponse);
  protocol::MessageBuilder b(buf, type, req.message.header_id());
  b.add_error_code(ErrorCode::kServerError);
  auto done = b.finish();
  return done ? *done : Reply{};
}

}  // namespace tern::core
