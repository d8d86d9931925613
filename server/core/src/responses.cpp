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
  if (!options.software.empty()) b.add_string(protocol::attr::kSoftware, options.software);
  if (key != nullptr) {
    if (key->sha256_integrity) {
      b.add_message_integrity_sha256(key->key);
    } else {
      b.add_message_integrity(key->key);
    }
  }
  if (req.fingerprint) b.add_fingerprint();
  auto done = b.finish();
  return done ? *done : Reply{};
}

std::string_view reason_phrase(std::uint16_t code) noexcept {
  switch (code) {
    case 300: return "Try Alternate";
    case 400: return "Bad Request";
    case 401: return "Unauthenticated";
    case 403: return "Forbidden";
    case 420: return "Unknown Attribute";
    case 437: return "Allocation Mismatch";
    case 438: return "Stale Nonce";
    case 440: return "Address Family not Supported";
    case 441: return "Wrong Credentials";
    case 442: return "Unsupported Transport Protocol";
    case 443: return "Peer Address Family Mismatch";
    case 486: return "Allocation Quota Reached";
    case 500: return "Server Error";
    case 508: return "Insufficient Capacity";
    default: return "Error";
  }
}

Reply error_response(const Request& req, const ServerOptions& options, std::uint16_t code,
                     std::span<std::uint8_t> buf, std::span<const std::uint16_t> unknown,
                     const SessionKey* key) noexcept {
  MessageBuilder b = start_response(req, MessageClass::kErrorResponse, buf);
  b.add_error_code(code, reason_phrase(code));
  if (!unknown.empty()) b.add_unknown_attributes(unknown);
  return finish_response(req, options, b, key);
}

}  // namespace tern::core
