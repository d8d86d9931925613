// The error_category that names protocol::Error values.
#include "tern/protocol/result.hpp"

#include <string>

namespace tern::protocol {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "tern.protocol"; }
  std::string message(int ev) const override {
    switch (static_cast<Error>(ev)) {
      case Error::kOk:
        return "ok";
      case Error::kTruncated:
        return "truncated";
      case Error::kTopBitsSet:
        return "first two bits not zero";
      case Error::kBadMagicCookie:
        return "bad magic cookie";
      case Error::kBadLength:
        return "bad message length";
      case Error::kAttributeOverrun:
        return "attribute overruns message";
      case Error::kTooManyAttributes:
        return "too many attributes";
      case Error::kAfterFingerprint:
        return "attribute after FINGERPRINT";
      case Error::kBadAttributeLength:
        return "bad attribute length";
      case Error::kBadAttributeValue:
        return "bad attribute value";
      case Error::kBadAddressFamily:
        return "bad address family";
      case Error::kNotChannelData:
        return "channel number out of range";
      case Error::kNotStun:
        return "neither STUN nor ChannelData";
      case Error::kBufferTooSmall:
        return "buffer too small";
      case Error::kBadProxyHeader:
        return "bad PROXY protocol header";
    }
    return "unknown protocol error";
  }
};

}  // namespace

const boost::system::error_category& protocol_category() noexcept {
  static const Category category;
  return category;
}

}  // namespace tern::protocol
