// The metrics endpoint's gzip: which Accept-Encoding values accept it, and that zlib's
// decompression gives the body back.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

#include "net/http_endpoint.hpp"

namespace tern::net {
namespace {

std::string gunzip(const std::string& packed) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
  z.avail_in = static_cast<uInt>(packed.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

TEST(HttpGzip, RoundTripsAndShrinksMetricsText) {
  std::string body;
  for (int i = 0; i < 200; ++i) {
    body += "tern_relayed_packets_total{leg=\"client_rx\",transport=\"udp\"} " +
            std::to_string(i * 7919) + "\n";
  }
  const std::string packed = gzip(body);
  ASSERT_FALSE(packed.empty());
  EXPECT_EQ(static_cast<unsigned char>(packed[0]), 0x1F);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(packed[1]), 0x8B);
  EXPECT_LT(packed.size(), body.size() / 4);
  EXPECT_EQ(gunzip(packed), body);
  EXPECT_EQ(gunzip(gzip("")), "");
}

TEST(HttpGzip, AcceptEncodingValues) {
  EXPECT_TRUE(accepts_gzip("gzip"));
  EXPECT_TRUE(accepts_gzip("identity, GZIP"));
  EXPECT_TRUE(accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
  EXPECT_TRUE(accepts_gzip("*"));
  EXPECT_TRUE(accepts_gzip("gzip; q=0.001"));
  EXPECT_TRUE(accepts_gzip("*;q=0, gzip"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));
  EXPECT_FALSE(accepts_gzip(""));
  EXPECT_FALSE(accepts_gzip("identity"));
  EXPECT_FALSE(accepts_gzip("br, deflate"));
  EXPECT_FALSE(accepts_gzip("xgzip, gzipped"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0"));
  EXPECT_FALSE(accepts_gzip("gzip;q=0.000, identity"));
}

}  // namespace
}  // namespace tern::net
