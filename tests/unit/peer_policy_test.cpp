// Peer deny/allow policy: default special-purpose ranges, IPv4-in-IPv6 forms, allow overrides.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tern/core/peer_policy.hpp"

namespace tern::core {
namespace {

using protocol::TransportAddress;

TransportAddress ip(const std::string& text) {
  TransportAddress a;
  EXPECT_TRUE(TransportAddress::parse_ip(text, a)) << text;
  a.port = 3478;
  return a;
}

PeerPolicy make(std::vector<std::string> deny, std::vector<std::string> allow = {}) {
  auto built = PeerPolicy::build(deny, allow);
  EXPECT_TRUE(built.errors.empty()) << built.errors.front();
  return built.policy.value_or(PeerPolicy{});
}

TEST(Cidr, ParsesPrefixesAndHostRoutes) {
  auto c = Cidr::parse("10.0.0.0/8");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->prefix_length(), 8u);
  EXPECT_TRUE(c->contains(ip("10.255.255.255")));
  EXPECT_FALSE(c->contains(ip("11.0.0.0")));
  EXPECT_FALSE(c->contains(ip("::ffff:10.0.0.1")));  // the policy canonicalises, not Cidr

  auto host = Cidr::parse("::1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_length(), 128u);
  EXPECT_EQ(host->to_string(), "::1/128");
  EXPECT_TRUE(host->contains(ip("::1")));
  EXPECT_FALSE(host->contains(ip("::2")));

  auto odd = Cidr::parse("fe80::/10");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(ip("febf:ffff::1")));
  EXPECT_FALSE(odd->contains(ip("fec0::1")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(ip("8.8.8.8")));
}

TEST(Cidr, RejectsBadEntriesWithAMessage) {
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8",
                          "localhost", "10.0.0.0/8/8", "[::1]/128", "10.0.0.0/-1"}) {
    std::string error;
    EXPECT_FALSE(Cidr::parse(bad, &error)) << bad;
    EXPECT_NE(error.find(bad), std::string::npos) << error;
  }
  std::string error;
  EXPECT_FALSE(Cidr::parse("192.168.1.10/24", &error));
  EXPECT_NE(error.find("did you mean 192.168.1.0/24"), std::string::npos) << error;
}

TEST(PeerPolicy, DefaultRangesDeniedAtTheirEdges) {
  const PeerPolicy p;
  const char* denied[] = {"0.0.0.0",
                          "0.255.255.255",
                          "10.0.0.0",
                          "10.255.255.255",
                          "100.64.0.0",
                          "100.127.255.255",
                          "100.100.100.200",
                          "127.0.0.1",
                          "127.255.255.255",
                          "169.254.0.0",
                          "169.254.169.254",
                          "169.254.255.255",
                          "172.16.0.0",
                          "172.31.255.255",
                          "192.0.0.0",
                          "192.0.0.255",
                          "192.0.2.1",
                          "192.88.99.1",
                          "192.168.0.0",
                          "192.168.255.255",
                          "198.18.0.0",
                          "198.19.255.255",
                          "198.51.100.7",
                          "203.0.113.9",
                          "224.0.0.1",
                          "239.255.255.255",
                          "240.0.0.0",
                          "255.255.255.255",
                          "::",
                          "::1",
                          "fc00::",
                          "fd00:ec2::254",
                          "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                          "fe80::1",
                          "febf::1",
                          "fec0::1",
                          "ff02::1",
                          "ffff::1",
                          "2001:db8::1",
                          "2001::1",
                          "2001:0:ffff::1",
                          "2002::1",
                          "2002:ffff::1",
                          "100::1",
                          "2001:2::1",
                          "2001:10::1",
                          "2001:2f::1",
                          "64:ff9b:1::1"};
  for (const char* a : denied) EXPECT_FALSE(p.allowed(ip(a))) << a;
}

TEST(PeerPolicy, PublicAddressesAllowed) {
  const PeerPolicy p;
  for (const char* a :
       {"8.8.8.8",         "1.1.1.1",           "9.255.255.255",        "11.0.0.0",
        "100.63.255.255",  "100.128.0.0",       "126.255.255.255",      "128.0.0.0",
        "169.253.255.255", "172.15.255.255",    "172.32.0.0",           "192.0.1.255",
        "192.167.255.255", "198.17.255.255",    "198.20.0.0",           "223.255.255.255",
        "2606:4700::1111", "2a00:1450:4001::1", "2001:4860:4860::8888", "fbff::1",
        "::ffff:8.8.8.8",  "64:ff9b::808:808"})
    EXPECT_TRUE(p.allowed(ip(a))) << a;
}

TEST(PeerPolicy, EveryIpv4InIpv6FormIsCanonicalised) {
  const PeerPolicy p;
  // 127.0.0.1, 10.0.0.1, 169.254.169.254 as mapped, SIIT, compatible, NAT64 (well-known and
  // local-use) and 6to4 addresses.
  for (const char* a :
       {"::ffff:127.0.0.1",       "::ffff:0:127.0.0.1",       "::127.0.0.1",
        "64:ff9b::7f00:1",        "64:ff9b:1::7f00:1",        "2002:7f00:1::",
        "::ffff:10.0.0.1",        "::ffff:0:10.0.0.1",        "::10.0.0.1",
        "64:ff9b::a00:1",         "64:ff9b:1::a00:1",         "2002:a00:1::1",
        "::ffff:169.254.169.254", "::ffff:0:169.254.169.254", "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",     "64:ff9b:1::a9fe:a9fe",     "2002:a9fe:a9fe::",
        "::ffff:0.0.0.0",         "::ffff:224.0.0.1",         "::ffff:255.255.255.255"})
    EXPECT_FALSE(p.allowed(ip(a))) << a;
}

TEST(PeerPolicy, EmbeddedIpv4Extraction) {
  EXPECT_EQ(embedded_ipv4(ip("::ffff:1.2.3.4"))->to_string(), "1.2.3.4:3478");
  EXPECT_EQ(embedded_ipv4(ip("::1.2.3.4"))->to_string(), "1.2.3.4:3478");
  EXPECT_EQ(embedded_ipv4(ip("64:ff9b::102:304"))->to_string(), "1.2.3.4:3478");
  EXPECT_EQ(embedded_ipv4(ip("2002:102:304::9"))->to_string(), "1.2.3.4:3478");
  EXPECT_FALSE(embedded_ipv4(ip("::")));
  EXPECT_FALSE(embedded_ipv4(ip("::1")));
  EXPECT_FALSE(embedded_ipv4(ip("1.2.3.4")));
  EXPECT_FALSE(embedded_ipv4(ip("2606:4700::1111")));
  EXPECT_FALSE(embedded_ipv4(ip("64:ff9b:0:1::102:304")));  // not inside 64:ff9b::/96
}

TEST(PeerPolicy, AllowOverridesTheDefaultList) {
  const PeerPolicy p = make({"default"}, {"127.0.0.1/32", "::1/128"});
  EXPECT_TRUE(p.allowed(ip("127.0.0.1")));
  EXPECT_TRUE(p.allowed(ip("::ffff:127.0.0.1")));  // the embedded form is allowed too
  EXPECT_TRUE(p.allowed(ip("::1")));
  EXPECT_FALSE(p.allowed(ip("127.0.0.2")));
  EXPECT_FALSE(p.allowed(ip("::ffff:127.0.0.2")));
  EXPECT_FALSE(p.allowed(ip("10.0.0.1")));

  const PeerPolicy v6 = make({"default"}, {"::ffff:10.0.0.0/104"});
  EXPECT_TRUE(v6.allowed(ip("::ffff:10.1.2.3")));
  EXPECT_FALSE(v6.allowed(ip("10.1.2.3")));  // allowing the mapped form leaves plain IPv4 alone
  EXPECT_FALSE(v6.allowed(ip("::10.1.2.3")));
}

TransportAddress at(const std::string& text, std::uint16_t port) {
  TransportAddress a = ip(text);
  a.port = port;
  return a;
}

TEST(PeerRange, ParsesCidrsWithAndWithoutPorts) {
  auto plain = PeerRange::parse("10.0.0.0/8");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->names_ports());
  EXPECT_TRUE(plain->contains(at("10.1.1.1", 1), false));

  auto one = PeerRange::parse("203.0.113.5:443");
  ASSERT_TRUE(one);
  EXPECT_TRUE(one->names_ports());
  EXPECT_TRUE(one->contains(at("203.0.113.5", 443), false));
  EXPECT_FALSE(one->contains(at("203.0.113.5", 444), false));
  EXPECT_TRUE(one->contains(at("203.0.113.5", 444), true));  // any port: the IP is enough
  EXPECT_FALSE(one->contains(at("203.0.113.6", 443), false));

  auto range = PeerRange::parse("198.51.100.0/24:5000-5100");
  ASSERT_TRUE(range);
  EXPECT_TRUE(range->contains(at("198.51.100.7", 5000), false));
  EXPECT_TRUE(range->contains(at("198.51.100.7", 5100), false));
  EXPECT_FALSE(range->contains(at("198.51.100.7", 5101), false));

  auto v6 = PeerRange::parse("[2001:db8::/64]:3000-3999");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(at("2001:db8::9", 3500), false));
  EXPECT_FALSE(v6->contains(at("2001:db8::9", 4000), false));
  auto v6_plain = PeerRange::parse("2001:db8::/64");  // colons of IPv6 are not a port
  ASSERT_TRUE(v6_plain);
  EXPECT_FALSE(v6_plain->names_ports());
}

TEST(PeerRange, RejectsBadPortsWithAMessage) {
  for (const char* bad :
       {"10.0.0.1:", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:9-8", "10.0.0.1:a", "10.0.0.1:1-",
        "[2001:db8::1]", "[2001:db8::1]443", "[2001:db8::1]:", "10.0.0.1:1:2"}) {
    std::string error;
    EXPECT_FALSE(PeerRange::parse(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(PeerPolicy, PortedAllowEntriesOpenOnlyTheirPorts) {
  const PeerPolicy p = make({"default"}, {"10.0.0.5:5000-5100", "10.0.0.6/32"});
  EXPECT_TRUE(p.allowed(at("10.0.0.5", 5050)));
  EXPECT_FALSE(p.allowed(at("10.0.0.5", 22)));
  EXPECT_TRUE(p.allowed_some_port(at("10.0.0.5", 22)));
  EXPECT_TRUE(p.allowed(at("::ffff:10.0.0.5", 5000)));  // embedded forms too
  EXPECT_TRUE(p.allowed(at("10.0.0.6", 22)));
  EXPECT_FALSE(p.allowed_some_port(at("10.0.0.7", 5000)));
  // Only entries that name ports open tern's own address.
  EXPECT_TRUE(p.opens_port_of_own_host(at("10.0.0.5", 5000), false));
  EXPECT_FALSE(p.opens_port_of_own_host(at("10.0.0.5", 22), false));
  EXPECT_TRUE(p.opens_port_of_own_host(at("10.0.0.5", 22), true));
  EXPECT_FALSE(p.opens_port_of_own_host(at("10.0.0.6", 22), false));
  EXPECT_FALSE(p.opens_port_of_own_host(at("10.0.0.6", 22), true));
}

TEST(PeerPolicy, HardDenyIgnoresAllow) {
  const PeerPolicy p =
      make({}, {"0.0.0.0/0", "::/0", "0.0.0.0/8", "::/128", "2001::/32", "2002::/16"});
  for (const char* a :
       {"0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0", "2001:0:4136:e378::1", "2002:808:808::1"})
    EXPECT_FALSE(p.allowed(ip(a))) << a;
  EXPECT_TRUE(p.allowed(ip("127.0.0.1")));  // deny: [] has no default list
}

TEST(PeerPolicy, CustomDenyWithoutDefault) {
  const PeerPolicy p = make({"203.0.114.0/24", "2600::/16"});
  EXPECT_FALSE(p.allowed(ip("203.0.114.5")));
  EXPECT_FALSE(p.allowed(ip("::ffff:203.0.114.5")));
  EXPECT_FALSE(p.allowed(ip("2600:1::1")));
  EXPECT_TRUE(p.allowed(ip("10.0.0.1")));
  EXPECT_TRUE(p.allowed(ip("127.0.0.1")));
  EXPECT_TRUE(p.allowed(ip("8.8.8.8")));
  EXPECT_FALSE(p.allowed(ip("0.0.0.0")));  // hard list still applies
}

TEST(PeerPolicy, BadEntriesRejectedWithMessages) {
  const std::vector<std::string> deny = {"default", "10.0.0.0/40", "bogus"};
  const std::vector<std::string> allow = {"::1/128", "1.2.3.5/31"};
  auto built = PeerPolicy::build(deny, allow);
  EXPECT_FALSE(built.policy);
  ASSERT_EQ(built.errors.size(), 3u);
  EXPECT_NE(built.errors[0].find("peers.deny '10.0.0.0/40'"), std::string::npos) << built.errors[0];
  EXPECT_NE(built.errors[1].find("'bogus'"), std::string::npos) << built.errors[1];
  EXPECT_NE(built.errors[2].find("peers.allow '1.2.3.5/31'"), std::string::npos) << built.errors[2];
}

TEST(PeerPolicy, DefaultListParsesAndMatchesTheDefaultPolicy) {
  for (std::string_view t : PeerPolicy::default_deny_list()) EXPECT_TRUE(Cidr::parse(t)) << t;
  const PeerPolicy p = make({"default"});
  for (const char* a : {"10.0.0.1", "fd00::1", "8.8.8.8", "::ffff:127.0.0.1"})
    EXPECT_EQ(p.allowed(ip(a)), PeerPolicy{}.allowed(ip(a))) << a;
}

}  // namespace
}  // namespace tern::core
