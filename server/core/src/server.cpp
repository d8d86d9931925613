// The core's entry point: demultiplex, validate, and dispatch to one handler per method.
#include "tern/core/server.hpp"

#include "handlers.hpp"
#include "tern/protocol/demux.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::core {

using protocol::MessageClass;
using protocol::MessageView;

const char* to_string(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp: return "udp";
    case Transport::kTcp: return "tcp";
    case Transport::kTls: return "tls";
  }
  return "?";
}

Server::Server(ServerOptions options) : options_(std::move(options)) {}

void Server::handle(const FiveTuple& flow, std::span<const std::uint8_t> bytes, TimePoint now,
                    Outbox& out) {
  if (bytes.empty() || protocol::classify_first_byte(bytes[0]) != protocol::PacketKind::kStun) {
    ++stats_.dropped_malformed;  // ChannelData arrives with the TURN relay
    return;
  }
  auto parsed = MessageView::parse(bytes, {.allow_classic = options_.rfc3489});
  if (!parsed) {
    ++stats_.dropped_malformed;
    return;
  }
  const MessageView& m = *parsed;
  const auto fp = protocol::check_fingerprint(m);
  if (fp == protocol::Check::kInvalid) {
    ++stats_.dropped_malformed;
    return;
  }
  // Only requests are answered; indications and responses sent to a server are dropped.
  if (m.message_class() != MessageClass::kRequest) return;
  const Request req{flow, m, now, fp == protocol::Check::kValid};
  const auto method = static_cast<protocol::Method>(m.method());

  Reply reply;
  if (m.is_classic()) {
    if (method == protocol::Method::kBinding && flow.transport != Transport::kTls) {
      reply = handle_classic_binding(req, scratch_);
    }
  } else if (method == protocol::Method::kBinding) {
    std::array<std::uint16_t, 16> unknown{};
    if (const std::size_t n = unknown_required_attributes(m, unknown); n > 0) {
      ++stats_.error_responses;
      reply = error_response(req, options_, 420, scratch_, std::span(unknown).first(n));
    } else {
      ++stats_.binding_requests;
      reply = handle_binding(req, options_, scratch_);
    }
  }
  if (!reply.empty()) out.to_client(flow, reply);
}

}  // namespace tern::core
