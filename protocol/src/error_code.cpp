// Reason phrases of the STUN/TURN error codes, as the RFCs name them.
#include "tern/protocol/error_code.hpp"

namespace tern::protocol {

std::string_view reason_phrase(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kTryAlternate:
      return "Try Alternate";
    case ErrorCode::kBadRequest:
      return "Bad Request";
    case ErrorCode::kUnauthenticated:
      return "Unauthenticated";
    case ErrorCode::kForbidden:
      return "Forbidden";
    case ErrorCode::kMobilityForbidden:
      return "Mobility Forbidden";
    case ErrorCode::kUnknownAttribute:
      return "Unknown Attribute";
    case ErrorCode::kAllocationMismatch:
      return "Allocation Mismatch";
    case ErrorCode::kStaleNonce:
      return "Stale Nonce";
    case ErrorCode::kAddressFamilyNotSupported:
      return "Address Family not Supported";
    case ErrorCode::kWrongCredentials:
      return "Wrong Credentials";
    case ErrorCode::kUnsupportedTransportProtocol:
      return "Unsupported Transport Protocol";
    case ErrorCode::kPeerAddressFamilyMismatch:
      return "Peer Address Family Mismatch";
    case ErrorCode::kConnectionAlreadyExists:
      return "Connection Already Exists";
    case ErrorCode::kConnectionTimeoutOrFailure:
      return "Connection Timeout or Failure";
    case ErrorCode::kAllocationQuotaReached:
      return "Allocation Quota Reached";
    case ErrorCode::kServerError:
      return "Server Error";
    case ErrorCode::kInsufficientCapacity:
      return "Insufficient Capacity";
  }
  return "Error";
}

}  // namespace tern::protocol
