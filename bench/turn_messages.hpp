// The TURN requests a benchmark client sends (RFC 8656 over RFC 8489 long-term credentials) and
// the few fields it reads from the answers, on top of tern's protocol codec.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tern/protocol/address.hpp"
#include "tern/protocol/message.hpp"

namespace tern::bench {

using protocol::TransactionId;
using protocol::TransportAddress;

// What a signed request needs: USERNAME, REALM, NONCE and the MD5 long-term key.
struct Credentials {
  std::string username;
  std::string password;
  std::string realm;              // learnt from the first 401
  std::string nonce;              // learnt from 401/438, per client 5-tuple
  std::vector<std::uint8_t> key;  // MD5(username:realm:password), set with the realm
  void set_realm(const std::string& r);
};

TransactionId random_tid(std::mt19937_64& rng);

// Each builder writes one whole message into `out` and returns its size (0 if it did not fit).
std::size_t build_binding(std::span<std::uint8_t> out, const TransactionId& tid);
std::size_t build_allocate(std::span<std::uint8_t> out, const TransactionId& tid,
                           const Credentials* creds);
std::size_t build_refresh(std::span<std::uint8_t> out, const TransactionId& tid,
                          const Credentials& creds, std::uint32_t lifetime);
std::size_t build_create_permission(std::span<std::uint8_t> out, const TransactionId& tid,
                                    const Credentials& creds, const TransportAddress& peer);
std::size_t build_channel_bind(std::span<std::uint8_t> out, const TransactionId& tid,
                               const Credentials& creds, std::uint16_t channel,
                               const TransportAddress& peer);
std::size_t build_send_indication(std::span<std::uint8_t> out, const TransactionId& tid,
                                  const TransportAddress& peer, std::span<const std::uint8_t> data);

// The parts of a response the client acts on.
struct Response {
  protocol::Method method = protocol::Method::kBinding;
  bool success = false;
  std::uint16_t error = 0;  // ERROR-CODE of an error response
  TransactionId tid{};
  std::optional<std::string> realm;
  std::optional<std::string> nonce;
  std::optional<TransportAddress> relayed;
  std::optional<TransportAddress> mapped;
};
// nullopt unless `bytes` is a STUN success or error response.
std::optional<Response> parse_response(std::span<const std::uint8_t> bytes);

// The DATA of a Data indication, or nullopt.
std::optional<std::span<const std::uint8_t>> data_indication_payload(
    std::span<const std::uint8_t> bytes);

}  // namespace tern::bench
