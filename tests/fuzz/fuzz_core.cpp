// libFuzzer target: the sans-I/O core driven by sequences of steps from several client 5-tuples
// and peers (raw datagrams, signed TURN requests, Send/ChannelData, peer data, ICMP, a fake
// clock that advances, TCP closes), with invariants checked after every step.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/fake_outbox.hpp"
#include "core/fake_relays.hpp"
#include "require.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/auth/keys.hpp"
#include "tern/auth/mobility_ticket.hpp"
#include "tern/core/peer_policy.hpp"
#include "tern/core/quota.hpp"
#include "tern/core/server.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/message.hpp"

namespace {

using tern::fuzz::require;

using namespace tern;
using namespace std::chrono_literals;
namespace attr = protocol::attr;
using protocol::MessageClass;
using protocol::Method;
using protocol::TransportAddress;

constexpr std::string_view kRealm = "example.org";
constexpr std::uint32_t kPerUser = 3;
constexpr std::uint32_t kPerSourceIp = 4;
constexpr auto kMaxLifetime = 3600s;

TransportAddress ip(const char* text, std::uint16_t port) {
  TransportAddress a;
  require(TransportAddress::parse_ip(text, a));
  a.port = port;
  return a;
}

// Peers the steps name: the first two are allowed (192.0.2.0/24 is opened below); the others
// must receive nothing: loopback, private, IPv6 documentation space (denied by the default
// policy) and the first relay port of this server, except while an allocation holds it.
const std::array<TransportAddress, 6>& peers() {
  static const std::array<TransportAddress, 6> p = {
      ip("192.0.2.10", 5000), ip("192.0.2.11", 6000),    ip("127.0.0.1", 5000),
      ip("10.0.0.1", 5000),   ip("198.51.100.1", 50000), ip("2001:db8::5", 7000)};
  return p;
}
constexpr std::size_t kAllowedPeers = 2;

struct Client {
  core::FiveTuple flow;
  std::string user;
  std::string password;
  std::string nonce;
  std::vector<std::uint8_t> algorithms;
  std::string ticket;  // RFC 8016, from the last response that carried one
};

core::FiveTuple five_tuple(const char* client, std::uint16_t port, core::Transport t) {
  core::FiveTuple f;
  f.client = ip(client, port);
  f.server = ip("203.0.113.1", 3478);
  f.transport = t;
  return f;
}

class Driver {
 public:
  Driver()
      : quota_(std::make_shared<core::AllocationQuota>(
            core::QuotaLimits{.per_user = kPerUser, .per_source_ip = kPerSourceIp})) {
    const std::vector<auth::StaticUser> users = {
        {.name = "alice", .password = "secret", .key_hex = {}, .sha256_key_hex = {}}};
    auto store = auth::CredentialStore::build(std::string(kRealm), users, {"north"});
    require(store.errors.empty());
    const std::vector<std::string> deny = {"default"};
    const std::vector<std::string> allow = {"192.0.2.0/24"};
    auto policy = core::PeerPolicy::build(deny, allow);
    require(policy.errors.empty());
    policy_ = std::make_shared<const core::PeerPolicy>(std::move(*policy.policy));
    core::ServerDeps deps;
    deps.credentials = std::make_shared<const auth::CredentialStore>(std::move(*store.store));
    deps.peers = policy_;
    deps.quota = quota_;
    deps.relays = &relays_;
    deps.tcp = tcp_;
    deps.tickets = auth::MobilityTickets::random();
    core::ServerOptions o;
    o.tcp_relay = true;
    o.mobility = true;
    o.tcp_connections = {2, 8};
    o.realm = std::string(kRealm);
    o.max_lifetime = kMaxLifetime;
    o.permissions_per_allocation = 4;
    o.channels_per_allocation = 4;
    server_ = std::make_unique<core::Server>(o, std::move(deps));
    const std::string rest_user = "1700086400:bob";
    clients_ = {
        Client{
            five_tuple("192.0.2.100", 40000, core::Transport::kUdp), "alice", "secret", {}, {}, {}},
        Client{
            five_tuple("192.0.2.100", 40001, core::Transport::kUdp), "alice", "secret", {}, {}, {}},
        Client{five_tuple("192.0.2.101", 40000, core::Transport::kUdp),
               rest_user,
               auth::rest_password("north", rest_user),
               {},
               {},
               {}},
        Client{
            five_tuple("192.0.2.100", 40002, core::Transport::kTcp), "alice", "wrong", {}, {}, {}},
        Client{
            five_tuple("192.0.2.100", 40003, core::Transport::kTcp), "alice", "secret", {}, {}, {}},
    };
  }

  void step(FuzzedDataProvider& in) {
    Client& c = clients_[in.ConsumeIntegralInRange<std::size_t>(0, clients_.size() - 1)];
    switch (in.ConsumeIntegralInRange(0, 17)) {
      case 0:
        handle(c, in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 600)));
        break;
      case 1:
        signed_request(c, in);
        break;
      case 2:
        handle(c, build(c, Method::kAllocate, MessageClass::kRequest, in, false));
        break;
      case 3:
        handle(c, build(c, Method::kSend, MessageClass::kIndication, in, false));
        break;
      case 4:
        channel_data(c, in);
        break;
      case 5:
        from_peer(in);
        break;
      case 6:
        clock_.steady += std::chrono::seconds(in.ConsumeIntegralInRange(0, 4000));
        clock_.wall +=
            std::chrono::seconds(in.ConsumeIntegralInRange(-4000, 4000));  // steps back too
        server_->sweep(clock_);
        break;
      case 7:
        server_->connection_closed(clients_[3].flow);
        break;
      case 8:
        allocate(c);
        break;
      case 9: {
        const TransportAddress& p = peer(in);
        handle(c, signed_message(c, Method::kCreatePermission, [&](protocol::MessageBuilder& b) {
                 b.add_xor_address(attr::kXorPeerAddress, p);
               }));
        break;
      }
      case 10: {
        const TransportAddress& p = peer(in);
        const auto channel = in.ConsumeIntegralInRange<std::uint16_t>(0x4000, 0x4003);
        handle(c, signed_message(c, Method::kChannelBind, [&](protocol::MessageBuilder& b) {
                 b.add_channel_number(channel);
                 b.add_xor_address(attr::kXorPeerAddress, p);
               }));
        break;
      }
      case 12:  // RFC 6062: a TCP allocation, then Connect to a peer
        handle(c, signed_message(c, Method::kAllocate, [](protocol::MessageBuilder& b) {
                 b.add_requested_transport(protocol::kProtocolTcp);
               }));
        [[fallthrough]];
      case 13: {
        const TransportAddress& p = peer(in);
        handle(c, signed_message(c, Method::kConnect, [&](protocol::MessageBuilder& b) {
                 b.add_xor_address(attr::kXorPeerAddress, p);
               }));
        break;
      }
      case 14:  // the network layer reports a Connect's outcome (or one for a made-up id)
        server_->tcp_connected(connection(in), in.ConsumeBool(), clock_, out_);
        break;
      case 15:
        if (in.ConsumeBool()) {
          server_->tcp_peer_connected(in.ConsumeIntegralInRange<core::RelayId>(1, 8), peer(in),
                                      clock_, out_);
        } else {
          connection_bind(c, in);
        }
        break;
      case 16:  // RFC 8016: an allocation that asks for a ticket
        handle(c, signed_message(c, Method::kAllocate, {}, false));
        handle(c, signed_message(c, Method::kAllocate, [](protocol::MessageBuilder& b) {
                 b.add_requested_transport(protocol::kProtocolUdp);
                 b.add(attr::kMobilityTicket, {});
               }));
        break;
      case 17:
        move(c, in);
        break;
      default:
        server_->handle_peer_icmp(in.ConsumeIntegralInRange<core::RelayId>(1, 8), peer(in),
                                  in.ConsumeIntegral<std::uint8_t>(),
                                  in.ConsumeIntegral<std::uint8_t>(),
                                  in.ConsumeIntegral<std::uint32_t>(), clock_, out_);
    }
    check();
  }

  // Everything ends once every lifetime has passed; every relay socket is given back.
  void finish() {
    clock_.steady += 2 * kMaxLifetime;
    clock_.wall += 2 * kMaxLifetime;
    server_->sweep(clock_);
    require(server_->allocation_count() == 0);
    require(relays_.open_count() == 0);
    require(tcp_->size() == 0);  // no RFC 6062 connection outlives its allocation
  }

 private:
  const TransportAddress& peer(FuzzedDataProvider& in) {
    return peers()[in.ConsumeIntegralInRange<std::size_t>(0, peers().size() - 1)];
  }

  void handle(Client& c, const std::vector<std::uint8_t>& bytes) {
    const std::size_t before = out_.sent.size();
    server_->handle(c.flow, bytes, clock_, out_);
    for (std::size_t i = before; i < out_.sent.size(); ++i) learn(out_.sent[i]);
  }

  // A 401 or 438 gives the client its NONCE and PASSWORD-ALGORITHMS, as a real client learns.
  void learn(const test::Sent& s) {
    auto m = protocol::MessageView::parse(s.bytes);
    if (!m) return;
    for (auto& c : clients_) {
      if (!(c.flow == s.flow)) continue;
      if (auto n = m->find_value(attr::kNonce)) c.nonce.assign(n->begin(), n->end());
      if (auto t = m->find_value(attr::kMobilityTicket)) c.ticket.assign(t->begin(), t->end());
      if (auto a = m->find_value(attr::kPasswordAlgorithms))
        c.algorithms.assign(a->begin(), a->end());
    }
  }

  // A request with fuzzed attributes; signed (MD5 or SHA-256 long-term key) when `sign`.
  std::vector<std::uint8_t> build(const Client& c, Method method, MessageClass cls,
                                  FuzzedDataProvider& in, bool sign) {
    std::vector<std::uint8_t> buf(2048);
    protocol::TransactionId tid{};
    for (auto& b : tid) b = in.ConsumeIntegral<std::uint8_t>();
    protocol::MessageBuilder b(buf, protocol::message_type(method, cls), tid);
    const int attributes = in.ConsumeIntegralInRange(0, 4);
    for (int i = 0; i < attributes; ++i) {
      switch (in.ConsumeIntegralInRange(0, 5)) {
        case 0:
          b.add_requested_transport(in.ConsumeBool() ? protocol::kProtocolUdp
                                                     : in.ConsumeIntegral<std::uint8_t>());
          break;
        case 1:
          b.add_u32(attr::kLifetime, in.ConsumeIntegral<std::uint32_t>());
          break;
        case 2:
          b.add_xor_address(attr::kXorPeerAddress, peer(in));
          break;
        case 3:
          b.add_channel_number(in.ConsumeIntegralInRange<std::uint16_t>(0x3FFF, 0x5000));
          break;
        case 4:
          b.add(attr::kData, in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 200)));
          break;
        default: {
          const auto type = in.ConsumeIntegral<std::uint16_t>();
          b.add(type, in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 40)));
        }
      }
    }
    if (sign) {
      b.add_string(attr::kUsername, c.user);
      b.add_string(attr::kRealm, std::string(kRealm));
      b.add_string(attr::kNonce, c.nonce);
      if (!c.algorithms.empty() && in.ConsumeBool()) {
        b.add(attr::kPasswordAlgorithms, c.algorithms);
        b.add_password_algorithm(static_cast<std::uint16_t>(protocol::PasswordAlgorithm::kSha256));
        const auto k = auth::sha256_key(c.user, std::string(kRealm), c.password);
        b.add_message_integrity_sha256(std::vector<std::uint8_t>(k.begin(), k.end()));
      } else {
        const auto k = auth::md5_key(c.user, std::string(kRealm), c.password);
        b.add_message_integrity(std::vector<std::uint8_t>(k.begin(), k.end()));
      }
    }
    auto done = b.finish();
    if (!done) return {};
    return {done->begin(), done->end()};
  }

  // A well-formed step, so that sequences reach allocations, permissions and channels:
  // a challenge (to learn the nonce) and a signed Allocate for UDP.
  void allocate(Client& c) {
    handle(c, signed_message(c, Method::kAllocate, {}, false));
    handle(c, signed_message(c, Method::kAllocate, [](protocol::MessageBuilder& b) {
             b.add_requested_transport(protocol::kProtocolUdp);
           }));
  }

  std::vector<std::uint8_t> signed_message(
      const Client& c, Method method, const std::function<void(protocol::MessageBuilder&)>& add,
      bool sign = true) {
    std::vector<std::uint8_t> buf(1024);
    protocol::TransactionId tid{};
    tid[0] = static_cast<std::uint8_t>(++transactions_);
    tid[1] = static_cast<std::uint8_t>(transactions_ >> 8);
    protocol::MessageBuilder b(buf, protocol::message_type(method, MessageClass::kRequest), tid);
    if (add) add(b);
    if (sign) {
      b.add_string(attr::kUsername, c.user);
      b.add_string(attr::kRealm, std::string(kRealm));
      b.add_string(attr::kNonce, c.nonce);
      const auto k = auth::md5_key(c.user, std::string(kRealm), c.password);
      b.add_message_integrity(std::vector<std::uint8_t>(k.begin(), k.end()));
    }
    auto done = b.finish();
    require(done.has_value());
    return {done->begin(), done->end()};
  }

  void signed_request(Client& c, FuzzedDataProvider& in) {
    static constexpr std::array<Method, 4> kMethods = {
        Method::kAllocate, Method::kRefresh, Method::kCreatePermission, Method::kChannelBind};
    const Method m = kMethods[in.ConsumeIntegralInRange<std::size_t>(0, kMethods.size() - 1)];
    handle(c, build(c, m, MessageClass::kRequest, in, true));
  }

  void channel_data(Client& c, FuzzedDataProvider& in) {
    const auto payload = in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 300));
    std::vector<std::uint8_t> frame(protocol::channel_data_stream_size(payload.size()));
    protocol::write_channel_data_header(frame.data(),
                                        in.ConsumeIntegralInRange<std::uint16_t>(0x4000, 0x4003),
                                        static_cast<std::uint16_t>(payload.size()));
    std::copy(payload.begin(), payload.end(), frame.begin() + protocol::kChannelDataHeader);
    handle(c, frame);
  }

  // A connection id tern handed out (Connect or ConnectionAttempt), or any number.
  core::ConnectionId connection(FuzzedDataProvider& in) {
    if (relays_.connects.empty() || in.ConsumeBool()) return in.ConsumeIntegral<std::uint32_t>();
    return relays_.connects[in.ConsumeIntegralInRange<std::size_t>(0, relays_.connects.size() - 1)]
        .id;
  }

  // ConnectionBind on a new connection of `c`'s host, signed with `c`'s nonce.
  void connection_bind(Client& c, FuzzedDataProvider& in) {
    Client data = c;
    data.flow.client.port = static_cast<std::uint16_t>(41000 + in.ConsumeIntegralInRange(0, 3));
    const core::ConnectionId id = connection(in);
    server_->handle(
        data.flow,
        signed_message(data, Method::kConnectionBind,
                       [&](protocol::MessageBuilder& b) { b.add_u32(attr::kConnectionId, id); }),
        clock_, out_);
  }

  // The client goes to another port of its address and refreshes there with its ticket (or a
  // damaged one); once that succeeds, the new 5-tuple is the client's.
  void move(Client& c, FuzzedDataProvider& in) {
    Client moved = c;
    moved.flow.client.port = static_cast<std::uint16_t>(42000 + in.ConsumeIntegralInRange(0, 7));
    std::string ticket = c.ticket;
    if (!ticket.empty() && in.ConsumeBool())
      ticket[in.ConsumeIntegralInRange<std::size_t>(0, ticket.size() - 1)] ^= 1;
    std::size_t before = out_.sent.size();
    handle(moved, signed_message(moved, Method::kRefresh, {}, false));
    for (std::size_t i = before; i < out_.sent.size(); ++i) {  // the new address's nonce
      auto m = protocol::MessageView::parse(out_.sent[i].bytes);
      if (!m) continue;
      if (auto n = m->find_value(attr::kNonce)) moved.nonce.assign(n->begin(), n->end());
    }
    before = out_.sent.size();
    handle(moved, signed_message(moved, Method::kRefresh, [&](protocol::MessageBuilder& b) {
             b.add_string(attr::kMobilityTicket, ticket);
           }));
    for (std::size_t i = before; i < out_.sent.size(); ++i) {
      auto m = protocol::MessageView::parse(out_.sent[i].bytes);
      if (m && m->message_class() == MessageClass::kSuccessResponse) {
        c.flow = moved.flow;
        c.nonce = moved.nonce;
      }
    }
  }

  void from_peer(FuzzedDataProvider& in) {
    const auto relay = in.ConsumeIntegralInRange<core::RelayId>(1, 8);
    const TransportAddress& from = peer(in);
    server_->handle_peer(relay, from,
                         in.ConsumeBytes<std::uint8_t>(in.ConsumeIntegralInRange(0, 300)), clock_,
                         out_);
  }

  // After every step: what went out is well-formed and allowed, quotas and lifetimes hold,
  // and no relay socket is held without an allocation.
  void check() {
    for (const auto& s : out_.sent) {
      const bool stun = protocol::MessageView::parse(s.bytes).has_value();
      require(stun || protocol::parse_channel_data(s.bytes).has_value());
    }
    // Peers: the allowed ones, or another allocation's live relay on this server (two clients
    // of one tern reach each other through their relayed addresses).
    for (const auto& p : out_.to_peers) {
      const bool allowed = std::find(peers().begin(), peers().begin() + kAllowedPeers, p.peer) !=
                           peers().begin() + kAllowedPeers;
      require((allowed && policy_->allowed(p.peer)) || relays_.is_live_relay(p.peer));
    }
    // RFC 6062: tern never opens a TCP connection to a peer it would not send a datagram to.
    for (; connects_checked_ < relays_.connects.size(); ++connects_checked_) {
      const auto& connect = relays_.connects[connects_checked_];
      const bool allowed = std::find(peers().begin(), peers().begin() + kAllowedPeers,
                                     connect.peer) != peers().begin() + kAllowedPeers;
      require(allowed || relays_.is_live_relay(connect.peer));
    }
    out_.sent.clear();
    out_.to_peers.clear();
    std::map<std::string, std::uint32_t> per_user;
    std::map<std::string, std::uint32_t> per_ip;
    const auto sessions = server_->sessions(clock_);
    for (const auto& s : sessions) {
      require(s.expires_in <= kMaxLifetime);
      require(s.permissions <= 4 && s.channels <= 4);
      require(++per_user[s.username] <= kPerUser);
      TransportAddress source = s.flow.client;
      source.port = 0;
      require(++per_ip[source.to_string()] <= kPerSourceIp);
    }
    require(sessions.size() == server_->allocation_count());
    require(relays_.open_count() == server_->allocation_count());
  }

  core::Instant clock_{core::TimePoint(1000s), core::WallTime(1'700'000'000s)};
  std::shared_ptr<core::AllocationQuota> quota_;
  std::shared_ptr<core::TcpConnectionTable> tcp_ = std::make_shared<core::TcpConnectionTable>();
  std::size_t connects_checked_ = 0;
  std::shared_ptr<const core::PeerPolicy> policy_;
  test::FakeRelays relays_;
  test::FakeOutbox out_;
  std::unique_ptr<core::Server> server_;
  std::vector<Client> clients_;
  std::uint32_t transactions_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  Driver driver;
  for (int i = 0; i < 64 && in.remaining_bytes() > 0; ++i) driver.step(in);
  driver.finish();
  return 0;
}
