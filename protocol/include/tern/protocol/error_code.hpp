// STUN/TURN error codes by their RFC names (RFC 8489 §14.8, RFC 8656 §19, RFC 6062 §6.3).
#pragma once

#include <cstdint>
#include <string_view>

namespace tern::protocol {

// Every code tern sends, named once; handlers use the names, never the numbers.
enum class ErrorCode : std::uint16_t {
  kTryAlternate = 300,                  // RFC 8489
  kBadRequest = 400,                    // RFC 8489
  kUnauthenticated = 401,               // RFC 8489
  kForbidden = 403,                     // RFC 8656
  kMobilityForbidden = 405,             // RFC 8016
  kUnknownAttribute = 420,              // RFC 8489
  kAllocationMismatch = 437,            // RFC 8656
  kStaleNonce = 438,                    // RFC 8489
  kAddressFamilyNotSupported = 440,     // RFC 8656
  kWrongCredentials = 441,              // RFC 8656
  kUnsupportedTransportProtocol = 442,  // RFC 8656
  kPeerAddressFamilyMismatch = 443,     // RFC 8656
  kConnectionAlreadyExists = 446,       // RFC 6062
  kConnectionTimeoutOrFailure = 447,    // RFC 6062
  kAllocationQuotaReached = 486,        // RFC 8656
  kServerError = 500,                   // RFC 8489
  kInsufficientCapacity = 508,          // RFC 8656
};

// The number on the wire (class * 100 + number, RFC 8489 §14.8).
constexpr std::uint16_t code_number(ErrorCode code) noexcept {
  return static_cast<std::uint16_t>(code);
}

// The RFC's reason phrase for `code`.
std::string_view reason_phrase(ErrorCode code) noexcept;

}  // namespace tern::protocol
