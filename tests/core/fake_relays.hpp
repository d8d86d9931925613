// A RelayProvider without sockets: 198.51.100.1:50000+n, and 2001:db8::1 when IPv6 is on.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "tern/core/relay.hpp"

namespace tern::test {

class FakeRelays final : public core::RelayProvider {
 public:
  static constexpr std::uint64_t kTokenBase = 0x0102030405060700ull;
  static constexpr std::uint16_t kFirstPort = 50000;

  static protocol::TransportAddress v4_ip(std::uint16_t port = 0) {
    return protocol::TransportAddress::v4(0xC6336401, port);  // 198.51.100.1
  }
  static protocol::TransportAddress v6_ip(std::uint16_t port = 0) {
    protocol::TransportAddress a;
    protocol::TransportAddress::parse_ip("2001:db8::1", a);
    a.port = port;
    return a;
  }

  std::optional<core::RelayEndpoint> open(protocol::Family family, bool even,
                                          bool reserve_next) override {
    ++open_calls;
    if (fail || !family_available(family)) return std::nullopt;
    std::uint16_t port = next_port_;
    if (even && port % 2 != 0) ++port;
    next_port_ = static_cast<std::uint16_t>(port + (reserve_next ? 2 : 1));
    core::RelayEndpoint e = make(family, port);
    if (reserve_next) {
      e.reservation_token = kTokenBase + ++tokens_issued;
      protocol::TransportAddress held = e.address;
      held.port = static_cast<std::uint16_t>(port + 1);
      reserved_[e.reservation_token] = held;
    }
    open_[e.id] = e.address;
    return e;
  }

  std::optional<core::RelayEndpoint> open_reserved(std::uint64_t token) override {
    tokens_asked.push_back(token);
    auto it = reserved_.find(token);
    if (fail || it == reserved_.end()) return std::nullopt;
    core::RelayEndpoint e = make(it->second.family, it->second.port);
    reserved_.erase(it);
    open_[e.id] = e.address;
    return e;
  }

  void close(core::RelayId id) override {
    closed.push_back(id);
    open_.erase(id);
    ++generation_;
  }

  std::uint64_t generation() const override { return generation_; }

  // RFC 6062: TCP relays come from the same port sequence; connects and binds are recorded.
  std::optional<core::RelayEndpoint> open_tcp(protocol::Family family) override {
    ++open_calls;
    if (fail || !family_available(family)) return std::nullopt;
    core::RelayEndpoint e = make(family, next_port_++);
    open_[e.id] = e.address;
    tcp_opened.push_back(e.id);
    return e;
  }
  struct Connect {
    core::RelayId relay = 0;
    core::ConnectionId id = 0;
    protocol::TransportAddress peer;
  };
  void connect(core::RelayId relay, core::ConnectionId id,
               const protocol::TransportAddress& peer) override {
    connects.push_back({relay, id, peer});
  }
  bool bind_connection(core::ConnectionId id, const core::FiveTuple& flow) override {
    binds.push_back({id, flow});
    return bind_succeeds;
  }
  void close_connection(core::ConnectionId id) override { closed_connections.push_back(id); }

  bool set_dont_fragment(core::RelayId id) override {
    if (!dont_fragment) return false;
    dont_fragment_set.push_back(id);
    return true;
  }

  bool family_available(protocol::Family family) const override {
    return family == protocol::Family::kIPv4 || ipv6;
  }

  bool is_live_relay(const protocol::TransportAddress& address) const override {
    for (const auto& [id, a] : open_) {
      if (a == address) return true;
    }
    return false;
  }

  bool is_own_ip(const protocol::TransportAddress& address) const override {
    auto same_ip = [&](const protocol::TransportAddress& own) {
      return own.family == address.family && own.ip == address.ip;
    };
    return same_ip(v4_ip()) || (ipv6 && same_ip(v6_ip()));
  }

  // The fake's own ports: 3478 (a listener) and its relay range 50000-50999.
  bool is_own_port(const protocol::TransportAddress& address) const override {
    return address.port == 3478 || (address.port >= kFirstPort && address.port < kFirstPort + 1000);
  }

  std::size_t open_count() const { return open_.size(); }

  bool ipv6 = false;           // IPv6 relays configured
  bool fail = false;           // no free port: every open() fails (508)
  bool dont_fragment = false;  // can set DF on relay sockets
  std::size_t open_calls = 0;
  std::uint64_t tokens_issued = 0;
  std::vector<core::RelayId> closed;
  std::vector<std::uint64_t> tokens_asked;
  std::vector<core::RelayId> dont_fragment_set;
  std::vector<core::RelayId> tcp_opened;
  std::vector<Connect> connects;
  std::vector<std::pair<core::ConnectionId, core::FiveTuple>> binds;
  bool bind_succeeds = true;
  std::vector<core::ConnectionId> closed_connections;

 private:
  core::RelayEndpoint make(protocol::Family family, std::uint16_t port) {
    core::RelayEndpoint e;
    e.id = ++last_id_;
    e.address = family == protocol::Family::kIPv4 ? v4_ip(port) : v6_ip(port);
    return e;
  }

  std::uint16_t next_port_ = kFirstPort;
  core::RelayId last_id_ = 0;
  std::uint64_t generation_ = 1;
  std::map<core::RelayId, protocol::TransportAddress> open_;
  std::map<std::uint64_t, protocol::TransportAddress> reserved_;
};

}  // namespace tern::test
