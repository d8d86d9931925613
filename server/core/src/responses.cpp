// Response scaffolding shared by all handlers: class, SOFTWARE, integrity, FINGERPRINT, errors.
#include "handlers.hpp"

namespace tern::core {

using protocol::MessageBuilder;
using protocol::MessageClass;

MessageBuilder start_response(const Request& req, MessageClass cls,
                              std::span<std::uint8_t> buf) noexcept {
  const auto method = static_cast<protocol::Method>(req.message.method());
  return MessageBuilder(buf, protocol::message_type(method, cls), req.message.transaction_id());
}

Reply finish_response(const Request& req, const ServerOptions& options, MessageBuilder& b,
                      const SessionKey* key) noexcept {
  return finish_message(options, b, key, req.fingerprint);
}

Reply finish_message(const ServerOptions& options, MessageBuilder& b, const SessionKey* key,
                     bool fingerprint) noexcept {
  if (!options.software.empty()) b.add_string(protocol::attr::kSoftware, options.software);
  if (key != nullptr) {
    if (key->sha256_integrity) {
      b.add_message_integrity_sha256(key->key);
    } else {
      b.add_message_integrity(key->key);
    }
  }
  if (fingerprint) b.add_fingerprint();
  auto done = b.finish();
  return done ? *done : Reply{};
}

Reply error_response(const Request& req, const ServerOptions& options, ErrorCode code,
                     std::span<std::uint8_t> buf, std::span<const std::uint16_t> unknown,
                     const SessionKey* key) noexcept {
  MessageBuilder b = start_response(req, MessageClass::kErrorResponse, buf);
  b.add_error_code(code);
  if (!unknown.empty()) b.add_unknown_attributes(unknown);
  return finish_response(req, options, b, key);
}

}  // namespace tern::core
