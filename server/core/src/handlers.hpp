// Internal interface between the core's dispatcher and its per-method handlers.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tern/core/server.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/message.hpp"

namespace tern::core {

struct Request {
  const FiveTuple& flow;
  const protocol::MessageView& message;
  TimePoint now;
  bool fingerprint;  // the request carried a valid FINGERPRINT, so the response gets one
};

using Reply = std::span<const std::uint8_t>;  // empty = stay silent

// Known attributes per RFC 8489/8656/6062/5780/8445; a request naming another
// comprehension-required type gets 420 (RFC 8489 §6.3.1).
std::size_t unknown_required_attributes(const protocol::MessageView& m,
                                        std::span<std::uint16_t> out) noexcept;

// Starts a response of `cls` to `req` in `buf`.
protocol::MessageBuilder start_response(const Request& req, protocol::MessageClass cls,
                                        std::span<std::uint8_t> buf) noexcept;
// Adds SOFTWARE (if configured) and FINGERPRINT (if the request had one), then finishes.
Reply finish_response(const Request& req, const ServerOptions& options,
                      protocol::MessageBuilder& b) noexcept;
Reply error_response(const Request& req, const ServerOptions& options, std::uint16_t code,
                     std::span<std::uint8_t> buf,
                     std::span<const std::uint16_t> unknown = {}) noexcept;
std::string_view reason_phrase(std::uint16_t code) noexcept;

// RFC 8489 §12: Binding.
Reply handle_binding(const Request& req, const ServerOptions& options,
                     std::span<std::uint8_t> buf) noexcept;
// RFC 3489 §9: classic Binding without the magic cookie, answered with MAPPED-ADDRESS only.
Reply handle_classic_binding(const Request& req, std::span<std::uint8_t> buf) noexcept;

}  // namespace tern::core
