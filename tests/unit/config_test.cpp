// Config loader: defaults, every section, and errors that name the line and column.
#include <gtest/gtest.h>

#include <cstdlib>

#include "config/loader.hpp"

namespace tern::config {
namespace {

LoadResult load(const std::string& text) {
  return load_config_string(text, "test.yaml");
}

TEST(Config, EmptyDocumentGivesDefaults) {
  auto r = load("");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_EQ(r.config->realm, "tern.local");
  ASSERT_EQ(r.config->listen.size(), 3u);
  EXPECT_EQ(r.config->listen[2].transport, "tls");
  EXPECT_EQ(r.config->listen[2].port, 5349);
  EXPECT_EQ(r.config->relay.min_port, 49152);
  EXPECT_EQ(r.config->limits.max_allocation_lifetime, std::chrono::hours(1));
  EXPECT_EQ(r.config->peers.deny, std::vector<std::string>{"default"});
  EXPECT_EQ(r.config->metrics_listen, "127.0.0.1:9641");
  EXPECT_FALSE(r.config->stun.rfc3489);
  EXPECT_EQ(r.config->coalesce_us, 250u);
  // Quotas that serve shared and REST names (docs/turn.md, "Quotas").
  EXPECT_EQ(r.config->limits.allocations_per_user, 0u);
  EXPECT_EQ(r.config->limits.allocations_per_source_ip, 1000u);
  EXPECT_EQ(r.config->limits.unauthenticated_replies_per_second, 20u);
  EXPECT_EQ(r.config->limits.unauthenticated_reply_burst, 512u);
  EXPECT_TRUE(r.config->signaling_ice_urls.empty());
  EXPECT_FALSE(r.config->relay.tcp);  // RFC 6062 is opt-in
  EXPECT_EQ(r.config->limits.tcp_connections_per_allocation, 16u);
  EXPECT_EQ(r.config->limits.tcp_connections_total, 10000u);
}

TEST(Config, ReadsTheTcpRelayKeys) {
  auto r = load(R"(
relay: {tcp: true}
limits: {tcp_connections_per_allocation: 3, tcp_connections_total: 0}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].line << ": " << r.errors[0].message;
  EXPECT_TRUE(r.config->relay.tcp);
  EXPECT_EQ(r.config->limits.tcp_connections_per_allocation, 3u);
  EXPECT_EQ(r.config->limits.tcp_connections_total, 0u);
  EXPECT_FALSE(load("relay: {tcp: maybe}\n").errors.empty());
}

TEST(Config, ReadsTheOffloadHook) {
  EXPECT_FALSE(load("").config->relay.offload_xdp);  // tc unless asked
  auto r = load("relay: {offload: required, offload_hook: xdp}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].line << ": " << r.errors[0].message;
  EXPECT_TRUE(r.config->relay.offload_xdp);
  EXPECT_FALSE(load("relay: {offload_hook: tc}\n").config->relay.offload_xdp);
  auto bad = load("relay: {offload_hook: kernel}\n");
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_NE(bad.errors[0].message.find("relay.offload_hook"), std::string::npos);
}

TEST(Config, ReadsTheMultiplexPortAndRefusesWhatNeedsASocketPerAllocation) {
  EXPECT_EQ(load("").config->relay.multiplex_port, 0u);  // a socket per allocation unless asked
  auto r = load("relay: {multiplex_port: 3480}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].line << ": " << r.errors[0].message;
  EXPECT_EQ(r.config->relay.multiplex_port, 3480u);
  for (const char* bad : {"relay: {multiplex_port: 50000}\n",  // inside 49152-65535
                          "relay: {multiplex_port: 3481}\n",   // odd
                          "relay: {multiplex_port: 3480, mobility: true}\n",
                          "relay: {multiplex_port: 3480, offload: required}\n",
                          "relay: {multiplex_port: 3480, address: 127.0.0.1, extra_addresses: "
                          "[127.0.0.2]}\n"}) {
    auto refused = load(bad);
    ASSERT_FALSE(refused.errors.empty()) << bad;
    EXPECT_NE(refused.errors[0].message.find("relay.multiplex_port"), std::string::npos) << bad;
  }
}

TEST(Config, ReadsTheFleetQuotaAndPortKeys) {
  auto r = load(R"(
limits: {allocations_per_source_ip: 7, unauthenticated_reply_burst: 64}
peers: {allow: ["203.0.113.5:5000-5100", "[2001:db8::5]:443", 10.0.0.0/8]}
signaling: {listen: "127.0.0.1:8080", ice_urls: ["stun:turn.example.org", "turn:turn.example.org:3478?transport=udp"]}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].line << ": " << r.errors[0].message;
  EXPECT_EQ(r.config->limits.allocations_per_source_ip, 7u);
  EXPECT_EQ(r.config->limits.unauthenticated_reply_burst, 64u);
  EXPECT_EQ(r.config->peers.allow.size(), 3u);
  EXPECT_EQ(r.config->signaling_ice_urls.size(), 2u);
}

TEST(Config, PublicAddressFromTheEnvironment) {
  ::setenv("TERN_TEST_PUBLIC_IP", "198.51.100.7", 1);
  auto r = load("relay: {address: 10.0.0.1, public_address_env: TERN_TEST_PUBLIC_IP}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].message;
  EXPECT_EQ(r.config->relay.public_address, "198.51.100.7");

  ::setenv("TERN_TEST_PUBLIC_IP", "node-1.example", 1);
  r = load("relay: {public_address_env: TERN_TEST_PUBLIC_IP}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("must hold an IP address (got 'node-1.example')"),
            std::string::npos);

  ::unsetenv("TERN_TEST_PUBLIC_IP");
  r = load("relay: {public_address_env: TERN_TEST_PUBLIC_IP}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("$TERN_TEST_PUBLIC_IP is not set"), std::string::npos);

  r = load("relay: {public_address: 203.0.113.5, public_address_env: TERN_TEST_PUBLIC_IP}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("not both"), std::string::npos);
}

TEST(Config, ExtraRelayAddresses) {
  auto r = load(
      "relay: {address: 10.0.0.1, address_v6: \"2001:db8::1\", extra_addresses: [10.0.0.2, "
      "\"2001:db8::2\"]}\n");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].message;
  EXPECT_EQ(r.config->relay.extra_addresses.size(), 2u);
  const std::pair<const char*, const char*> bad[] = {
      {"relay: {extra_addresses: [10.0.0.2]}", "not a wildcard"},
      {"relay: {address: 10.0.0.1, extra_addresses: [0.0.0.0]}", "is a wildcard"},
      {"relay: {address: 10.0.0.1, extra_addresses: [10.0.0.1]}", "appears twice"},
      {"relay: {address: 10.0.0.1, extra_addresses: [turn.example]}", "not an IP address"},
      {"relay: {address: 10.0.0.1, extra_addresses: [\"2001:db8::2\"]}", "needs relay.address_v6"},
      {"relay: {address: 10.0.0.1, public_address: 203.0.113.1, extra_addresses: [10.0.0.2]}",
       "advertised as themselves"},
  };
  for (const auto& [text, why] : bad) {
    r = load(std::string(text) + "\n");
    ASSERT_EQ(r.errors.size(), 1u) << text;
    EXPECT_NE(r.errors[0].message.find(why), std::string::npos) << r.errors[0].message;
  }
}

TEST(Config, EmbeddedDefaultLoadsCleanly) {
  auto r = load_config_string(embedded_default_config(), "<embedded>");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].message;
  EXPECT_EQ(r.config->listen.size(), 3u);
  EXPECT_EQ(r.config->connections.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(r.config->connections.per_source_ip, 1000u);
}

TEST(Config, ReadsEveryDesignKey) {
  auto r = load(R"(
realm: example.org
software: "tern test"
workers: 3
coalesce_us: 0
listen:
  - {transport: udp, address: "::1", port: 3479}
tls: {cert_file: /a.crt, key_file: /a.key, min_version: "1.3"}
relay: {address: 10.0.0.1, address_v6: "fd00::1", public_address: 203.0.113.5, min_port: 50000, max_port: 50100}
auth:
  users: [{name: alice, password: pw}, {name: bob, key: 00ff}]
  users_file: /u
  secrets: [s1, s2]
  secrets_file: /s
  strict_expiry: true
limits: {allocations_per_user: 2, allocations_total: 9, permissions_per_allocation: 5, channels_per_allocation: 6, max_allocation_lifetime: 10m}
peers: {deny: [default, 192.0.2.0/24], allow: [127.0.0.1/32, "::1/128"]}
alternate_servers: ["203.0.113.9:3478", "[2001:db8::9]:3478"]
metrics: {listen: "127.0.0.1:9000"}
signaling: {listen: "127.0.0.1:8080", token: t, max_connections: 7, connections_per_source_ip: 3}
admin: {socket: /tmp/a.sock}
log: {level: debug, format: json}
stun: {rfc3489: true}
connections: {max: 5, per_source_ip: 2, idle_timeout: 30s, handshake_timeout: 3s,
              trusted_proxies: [10.0.0.0/8, "2001:db8::/32"]}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].line << ": " << r.errors[0].message;
  const auto& c = *r.config;
  EXPECT_EQ(c.realm, "example.org");
  EXPECT_EQ(c.software, "tern test");
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.coalesce_us, 0u);
  ASSERT_EQ(c.listen.size(), 1u);
  EXPECT_EQ(c.listen[0].address, "::1");
  EXPECT_EQ(c.listen[0].port, 3479);
  EXPECT_EQ(c.tls.min_version, "1.3");
  EXPECT_EQ(c.relay.public_address, "203.0.113.5");
  EXPECT_EQ(c.relay.max_port, 50100);
  ASSERT_EQ(c.auth.users.size(), 2u);
  EXPECT_EQ(c.auth.users[1].key, "00ff");
  EXPECT_EQ(c.auth.secrets, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_TRUE(c.auth.strict_expiry);
  EXPECT_EQ(c.limits.channels_per_allocation, 6u);
  EXPECT_EQ(c.limits.max_allocation_lifetime, std::chrono::minutes(10));
  EXPECT_EQ(c.peers.allow.size(), 2u);
  EXPECT_EQ(c.alternate_servers.size(), 2u);
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9000");
  EXPECT_EQ(c.signaling_token, "t");
  EXPECT_EQ(c.signaling_max_connections, 7u);
  EXPECT_EQ(c.signaling_connections_per_source_ip, 3u);
  EXPECT_EQ(c.admin_socket, "/tmp/a.sock");
  EXPECT_EQ(c.log_format, "json");
  EXPECT_TRUE(c.stun.rfc3489);
  EXPECT_EQ(c.connections.max, 5u);
  EXPECT_EQ(c.connections.per_source_ip, 2u);
  EXPECT_EQ(c.connections.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.connections.handshake_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.connections.trusted_proxies,
            (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"}));
}

TEST(Config, OAuthKeysLoad) {
  auto r = load(R"(
auth:
  oauth:
    server_name: turn.example.org
    keys:
      - {kid: north, key: MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEK}
      - {kid: union, algorithm: A128GCM, key: "MTIzNDU2Nzg5MDEyMzQ1Ngo="}
)");
  ASSERT_TRUE(r.errors.empty()) << r.errors[0].message;
  const auto& o = r.config->auth.oauth;
  EXPECT_EQ(o.server_name, "turn.example.org");
  ASSERT_EQ(o.keys.size(), 2u);
  EXPECT_EQ(o.keys[0].algorithm, "A256GCM");
  EXPECT_EQ(o.keys[1].kid, "union");
}

TEST(Config, ErrorsNameTheLineAndColumn) {
  auto r =
      load("realm: x\nworkers: many\nlisten:\n  - {transport: sctp, address: 1.2.3.4, port: 1}\n");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.errors[0].file, "test.yaml");
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[0].column, 10);
  EXPECT_NE(r.errors[0].message.find("workers"), std::string::npos);
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_NE(r.errors[1].message.find("sctp"), std::string::npos);
}

TEST(Config, UnknownKeysAreErrors) {
  auto r = load("realm: x\nrelay:\n  min_prot: 5\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_NE(r.errors[0].message.find("min_prot"), std::string::npos);
}

TEST(Config, SyntaxErrorsHaveAPosition) {
  auto r = load("realm: x\nlisten: [\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_GE(r.errors[0].line, 2);
}

TEST(Config, RejectsBadValues) {
  const char* bad[] = {
      "relay: {min_port: 60000, max_port: 50000}",
      "relay: {address: not-an-ip}",
      "peers: {allow: [10.0.0.0/33]}",
      "peers: {deny: [nonsense]}",
      "limits: {max_allocation_lifetime: 10 minutes}",
      "listen: [{transport: udp, address: 1.2.3.4, port: 70000}]",
      "listen: [{transport: udp, address: 1.2.3.4}]",
      "auth: {users: [{name: a}]}",
      "auth: {users: [{name: a, password: p, key: 00}]}",
      "auth: {users: [{name: a, key: xyz}]}",
      "tls: {cert_file: /only.crt}",
      "tls: {min_version: '1.0'}",
      "log: {level: loud}",
      "stun: {rfc3489: maybe}",
      "workers: -1",
      "coalesce_us: 1001",
      "coalesce_us: 1ms",
      "alternate_servers: [nohost]",
      "alternate_servers: [\"localhost:3478\"]",
      "metrics: {listen: \"localhost:9641\"}",
      "signaling: {listen: \"127.0.0.1:80800\"}",
      "realm: ''",
      "peers: {allow: [\"10.0.0.5:\"]}",
      "peers: {allow: [\"10.0.0.5:http\"]}",
      "limits: {unauthenticated_reply_burst: 0}",
      "signaling: {ice_urls: [\"http://example.org\"]}",
      "signaling: {ice_urls: [\"turn:\"]}",
      "signaling: {max_connections: 0}",
      "connections: {trusted_proxies: [10.0.0.0/33]}",
      "connections: {trusted_proxies: [10.0.0.1/8]}",  // host bits set
      "peers: {deny: [\"2001:db8::1/32\"]}",
      "connections: {trusted_proxies: [haproxy.local]}",
      "auth: {oauth: {keys: [{kid: a, algorithm: A192GCM, key: MTIzNDU2Nzg5MDEyMzQ1Ngo=}]}}",
      "auth: {oauth: {keys: [{kid: a, key: MTIzNDU2Nzg5MDEyMzQ1Ngo=}]}}",  // 17 bytes < 32
      "auth: {oauth: {keys: [{algorithm: A128GCM, key: MTIzNDU2Nzg5MDEyMzQ1Ngo=}]}}",
      "auth: {oauth: {keys: [{kid: a, algorithm: A128GCM, key: '%%%'}]}}",
      "auth: {oauth: {keys: [{kid: a, algorithm: A128GCM, key: MTIzNDU2Nzg5MDEyMzQ1Ngo=},"
      " {kid: a, algorithm: A128GCM, key: MTIzNDU2Nzg5MDEyMzQ1Ngo=}]}}",
      "auth: {oauth: {kid: a}}",
  };
  for (const char* text : bad) {
    auto r = load(text);
    EXPECT_FALSE(r.errors.empty()) << text;
    EXPECT_FALSE(r.config) << text;
  }
}

TEST(Config, ListenersOnTheSamePortOfTheSameSocketTypeAreRefused) {
  auto ok = load(R"(listen:
  - {transport: udp, address: 0.0.0.0, port: 3478}
  - {transport: tcp, address: 0.0.0.0, port: 3478}
  - {transport: dtls, address: 0.0.0.0, port: 5349}
  - {transport: tls, address: 0.0.0.0, port: 5349}
  - {transport: any, address: 127.0.0.1, port: 443}
)");
  EXPECT_TRUE(ok.errors.empty()) << ok.errors[0].message;
  auto bad = load(R"(listen:
  - {transport: udp, address: 0.0.0.0, port: 3478}
  - {transport: dtls, address: 0.0.0.0, port: 3478}
  - {transport: tls, address: 127.0.0.1, port: 443}
  - {transport: any, address: 127.0.0.1, port: 443}
)");
  ASSERT_EQ(bad.errors.size(), 2u);
  EXPECT_NE(bad.errors[0].message.find("dtls 0.0.0.0:3478 takes the same UDP port as udp"),
            std::string::npos)
      << bad.errors[0].message;
  EXPECT_NE(bad.errors[1].message.find("takes the same TCP port as tls"), std::string::npos);
}

TEST(Config, Durations) {
  std::chrono::seconds s{};
  EXPECT_TRUE(parse_duration("30s", s));
  EXPECT_EQ(s.count(), 30);
  EXPECT_TRUE(parse_duration("10m", s));
  EXPECT_EQ(s.count(), 600);
  EXPECT_TRUE(parse_duration("1h", s));
  EXPECT_EQ(s.count(), 3600);
  EXPECT_TRUE(parse_duration("1500ms", s));
  EXPECT_EQ(s.count(), 2);
  EXPECT_TRUE(parse_duration("45", s));
  EXPECT_EQ(s.count(), 45);
  EXPECT_FALSE(parse_duration("", s));
  EXPECT_FALSE(parse_duration("m", s));
  EXPECT_FALSE(parse_duration("5w", s));
  EXPECT_FALSE(parse_duration("-5s", s));
}

TEST(Config, Cidrs) {
  EXPECT_TRUE(is_valid_cidr("10.0.0.0/8"));
  EXPECT_TRUE(is_valid_cidr("::ffff:0:0/96"));
  EXPECT_TRUE(is_valid_cidr("127.0.0.1"));
  EXPECT_FALSE(is_valid_cidr("10.0.0.0/"));
  EXPECT_FALSE(is_valid_cidr("::/129"));
  EXPECT_FALSE(is_valid_cidr("example.org/8"));
}

TEST(Config, StateDirPrefersTheConfig) {
  Config c;
  c.state_dir = "/x/y";
  EXPECT_EQ(resolve_state_dir(c), "/x/y");
  c.state_dir.clear();
  setenv("TERN_STATE_DIR", "/from/env", 1);
  EXPECT_EQ(resolve_state_dir(c), "/from/env");
  unsetenv("TERN_STATE_DIR");
}

}  // namespace
}  // namespace tern::config
