// The client a trusted proxy names: the last hop of X-Forwarded-For, else of Forwarded.
#include "signaling/forwarded.hpp"

#include <gtest/gtest.h>

namespace tern::signaling {
namespace {

std::string client(std::string_view xff, std::string_view forwarded = {}) {
  const auto a = forwarded_client(xff, forwarded);
  return a ? a->to_string() : "none";
}

TEST(ForwardedClient, XForwardedForGivesItsLastEntry) {
  EXPECT_EQ(client("192.0.2.1"), "192.0.2.1:0");
  // The entries before the last were written by the client or farther proxies: not trusted.
  EXPECT_EQ(client("127.0.0.1, 10.0.0.1,198.51.100.7"), "198.51.100.7:0");
  EXPECT_EQ(client("192.0.2.1:5060"), "192.0.2.1:5060");
  EXPECT_EQ(client("2001:db8::1"), "[2001:db8::1]:0");
  EXPECT_EQ(client("[2001:db8::1]:443"), "[2001:db8::1]:443");
  EXPECT_EQ(client(" [2001:db8::1] "), "[2001:db8::1]:0");
}

TEST(ForwardedClient, ForwardedIsReadWhenThereIsNoXForwardedFor) {
  EXPECT_EQ(client("", "for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60:0");
  EXPECT_EQ(client("", "for=192.0.2.43, For=\"[2001:db8:cafe::17]:4711\""),
            "[2001:db8:cafe::17]:4711");
  EXPECT_EQ(client("", "proto=https; for=198.51.100.17"), "198.51.100.17:0");
  EXPECT_EQ(client("203.0.113.9", "for=192.0.2.60"), "203.0.113.9:0");  // XFF first
}

TEST(ForwardedClient, WhatNamesNoAddressIsNone) {
  EXPECT_EQ(client(""), "none");
  EXPECT_EQ(client("   "), "none");
  EXPECT_EQ(client("unknown"), "none");
  EXPECT_EQ(client("192.0.2.1, "), "none");  // an empty last entry
  EXPECT_EQ(client("example.org"), "none");
  EXPECT_EQ(client("192.0.2.1:99999"), "none");
  EXPECT_EQ(client("", "for=unknown"), "none");
  EXPECT_EQ(client("", "for=_hidden"), "none");
  EXPECT_EQ(client("", "proto=http"), "none");
  EXPECT_EQ(client("", "for=\"[2001:db8::1\""), "none");
  EXPECT_EQ(client(std::string_view("192.0.2.1\0x", 11)), "none");
}

}  // namespace
}  // namespace tern::signaling
