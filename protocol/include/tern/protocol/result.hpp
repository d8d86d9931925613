// Result<T> and the protocol layer's error enum, wired into boost::system::error_code.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace tern::protocol {

template <class T>
using Result = boost::system::result<T>;

// Why a message, attribute or frame was refused. Callers drop the input or map the error to a
// STUN error code in exactly one place (the server core).
enum class Error {
  kOk = 0,
  kTruncated = 1,       // fewer bytes than the header or a length field claims
  kTopBitsSet,          // first two bits of a STUN message are not zero
  kBadMagicCookie,      // not 0x2112A442
  kBadLength,           // length not a multiple of 4 or inconsistent with the datagram
  kAttributeOverrun,    // an attribute runs past the end of the message
  kTooManyAttributes,   // more attributes than the parser indexes
  kAfterFingerprint,    // an attribute follows FINGERPRINT
  kBadAttributeLength,  // an attribute's length breaks its own rules
  kBadAttributeValue,   // a field inside an attribute has a value the RFC forbids
  kBadAddressFamily,    // address family byte is neither 0x01 nor 0x02
  kNotChannelData,      // channel number outside 0x4000-0x4FFF (or the RFC 5766 range)
  kNotStun,             // first byte fits neither STUN nor ChannelData
  kBufferTooSmall,      // the builder ran out of room
  kBadProxyHeader,      // not a PROXY protocol header, or one that breaks its format
};

const boost::system::error_category& protocol_category() noexcept;

inline boost::system::error_code make_error_code(Error e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

}  // namespace tern::protocol

template <>
struct boost::system::is_error_code_enum<tern::protocol::Error> : std::true_type {};
