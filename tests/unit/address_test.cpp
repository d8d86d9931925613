// TransportAddress::parse: the one "IP:port" parser behind every listen and server setting.
#include <gtest/gtest.h>

#include "tern/protocol/address.hpp"

namespace tern::protocol {
namespace {

TEST(TransportAddress, ParsesWhatToStringWrites) {
  for (const char* text : {"127.0.0.1:3478", "0.0.0.0:0", "[::1]:65535", "[2001:db8::7]:5349"}) {
    TransportAddress a;
    ASSERT_TRUE(TransportAddress::parse(text, a)) << text;
    EXPECT_EQ(a.to_string(), text);
  }
  TransportAddress v6;
  ASSERT_TRUE(TransportAddress::parse("[::1]:9641", v6));
  EXPECT_EQ(v6.family, Family::kIPv6);
  EXPECT_EQ(v6.port, 9641);
}

TEST(TransportAddress, RefusesAnythingElse) {
  for (const char* text :
       {"", ":", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999999", "127.0.0.1:-1",
        "127.0.0.1:80x", "localhost:80", "::1:80", "[127.0.0.1]:80", "[::1:80", "[]:80", "1.2.3:80",
        " 1.2.3.4:80"}) {
    TransportAddress a;
    a.port = 7;
    EXPECT_FALSE(TransportAddress::parse(text, a)) << text;
    EXPECT_EQ(a.port, 7) << "left untouched on failure: " << text;
  }
}

}  // namespace
}  // namespace tern::protocol
