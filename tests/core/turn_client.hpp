// A sans-I/O TURN client and test harness: fake clock, fake relays, long-term auth (MD5/SHA-256).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fake_outbox.hpp"
#include "core/fake_relays.hpp"
#include "tern/auth/access_token.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/auth/keys.hpp"
#include "tern/auth/mobility_ticket.hpp"
#include "tern/core/peer_policy.hpp"
#include "tern/core/quota.hpp"
#include "tern/core/rate_limit.hpp"
#include "tern/core/server.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/channel_data.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::test {

namespace attr = protocol::attr;
using protocol::Family;
using protocol::MessageBuilder;
using protocol::MessageClass;
using protocol::MessageView;
using protocol::Method;
using protocol::TransportAddress;
using namespace std::chrono_literals;

inline constexpr std::string_view kRealm = "example.org";
inline constexpr std::string_view kUser = "alice";
inline constexpr std::string_view kPassword = "secret";
inline constexpr std::string_view kRestSecret = "north";

// Wall time 1'700'000'000 s (Nov 2023); steady time starts at 1000 s.
struct FakeClock {
  core::Instant now{core::TimePoint(1000s), core::WallTime(1'700'000'000s)};
  void advance(std::chrono::seconds d) {
    now.steady += d;
    now.wall += d;
  }
};

inline TransportAddress addr(const std::string& ip, std::uint16_t port) {
  TransportAddress a;
  EXPECT_TRUE(TransportAddress::parse_ip(ip, a)) << ip;
  a.port = port;
  return a;
}

inline core::FiveTuple flow(const std::string& client_ip, std::uint16_t client_port,
                            core::Transport transport = core::Transport::kUdp) {
  core::FiveTuple f;
  f.client = addr(client_ip, client_port);
  f.server = addr("203.0.113.1", 3478);
  f.transport = transport;
  return f;
}

// A TURN REST username "expiry:alice" valid for a day from the fake clock's start.
inline std::string rest_user() {
  return "1700086400:alice";
}
inline std::string rest_pass() {
  return auth::rest_password(kRestSecret, rest_user());
}

// A server response or indication the client received, with accessors over its attributes.
struct Reply {
  std::vector<std::uint8_t> bytes;

  bool empty() const { return bytes.empty(); }
  std::optional<MessageView> view() const {
    auto m = MessageView::parse(bytes);
    if (!m) return std::nullopt;
    return *m;
  }
  std::uint16_t type() const {
    auto m = view();
    return m ? m->type() : std::uint16_t{0};
  }
  bool success() const {
    auto m = view();
    return m && m->message_class() == MessageClass::kSuccessResponse;
  }
  // The ERROR-CODE number, 0 when there is none.
  std::uint16_t error() const {
    auto m = view();
    if (!m) return 0;
    auto v = m->find_value(attr::kErrorCode);
    if (!v) return 0;
    auto e = protocol::decode_error_code(*v);
    return e ? e->code : std::uint16_t{0};
  }
  bool has(std::uint16_t type) const {
    auto m = view();
    return m && m->find(type).has_value();
  }
  std::vector<std::uint16_t> attribute_types() const {
    std::vector<std::uint16_t> out;
    if (auto m = view()) {
      for (const auto& a : m->attributes()) out.push_back(a.type);
    }
    return out;
  }
  std::vector<std::uint8_t> raw(std::uint16_t type) const {
    auto m = view();
    if (!m) return {};
    auto v = m->find_value(type);
    return v ? std::vector<std::uint8_t>(v->begin(), v->end()) : std::vector<std::uint8_t>{};
  }
  std::string text(std::uint16_t type) const {
    auto v = raw(type);
    return {v.begin(), v.end()};
  }
  std::vector<TransportAddress> addresses(std::uint16_t type) const {
    std::vector<TransportAddress> out;
    auto m = view();
    if (!m) return out;
    for (const auto& a : m->attributes()) {
      if (a.type != type) continue;
      auto decoded = protocol::decode_xor_address(m->value(a), m->transaction_id());
      if (decoded) out.push_back(*decoded);
    }
    return out;
  }
  std::optional<TransportAddress> address(std::uint16_t type) const {
    auto all = addresses(type);
    if (all.empty()) return std::nullopt;
    return all.front();
  }
  std::optional<std::uint32_t> lifetime() const {
    auto m = view();
    if (!m) return std::nullopt;
    auto v = m->find_value(attr::kLifetime);
    if (!v) return std::nullopt;
    auto l = protocol::decode_lifetime(*v);
    return l ? std::optional<std::uint32_t>(*l) : std::nullopt;
  }
};

inline core::ServerOptions default_options() {
  core::ServerOptions o;
  o.realm = std::string(kRealm);
  return o;
}

struct HarnessConfig {
  core::ServerOptions options = default_options();
  bool ipv6 = false;
  bool allow_documentation = true;   // allow 192.0.2.0/24 (denied by the default policy)
  core::QuotaLimits quota{};         // 0 = unlimited
  bool rest_secret = true;           // the credential store also verifies TURN REST names
  std::vector<std::string> allow{};  // more peers.allow entries
  std::shared_ptr<core::ReplyRateLimit> reply_limit = nullptr;  // shared with another harness
  std::shared_ptr<const auth::OAuthKeyring> oauth = nullptr;    // RFC 7635 keys
  std::vector<auth::StaticUser> more_users{};                   // besides alice
  std::shared_ptr<core::TcpConnectionTable> tcp = nullptr;      // RFC 6062 connections
  std::shared_ptr<const auth::MobilityTickets> tickets = nullptr;  // RFC 8016
  core::EventSink* events = nullptr;                                // allocation events, routes
};

// The server under test with everything it depends on.
class Harness {
 public:
  explicit Harness(HarnessConfig config = {})
      : quota(std::make_shared<core::AllocationQuota>(config.quota)) {
    relays.ipv6 = config.ipv6;
    std::vector<auth::StaticUser> users = {{.name = std::string(kUser),
                                            .password = std::string(kPassword),
                                            .key_hex = {},
                                            .sha256_key_hex = {}}};
    users.insert(users.end(), config.more_users.begin(), config.more_users.end());
    auto store = auth::CredentialStore::build(
        std::string(kRealm), users,
        config.rest_secret ? std::vector<std::string>{std::string(kRestSecret)}
                           : std::vector<std::string>{});
    EXPECT_TRUE(store.errors.empty());
    core::ServerDeps deps;
    deps.credentials = std::make_shared<const auth::CredentialStore>(std::move(*store.store));
    if (config.allow_documentation) {
      const std::vector<std::string> deny = {"default"};
      std::vector<std::string> allow = {"192.0.2.0/24"};
      allow.insert(allow.end(), config.allow.begin(), config.allow.end());
      auto built = core::PeerPolicy::build(deny, allow);
      EXPECT_TRUE(built.errors.empty());
      deps.peers = std::make_shared<const core::PeerPolicy>(std::move(*built.policy));
    }
    deps.quota = quota;
    deps.reply_limit = config.reply_limit;
    deps.relays = &relays;
    deps.oauth = config.oauth;
    deps.tcp = config.tcp;
    deps.tickets = config.tickets;
    deps.events = config.events;
    server = std::make_unique<core::Server>(config.options, std::move(deps));
  }

  // Data a peer sends to relay socket `relay`; returns what reached the client, if anything.
  std::vector<Sent> from_peer(core::RelayId relay, const TransportAddress& peer,
                              std::span<const std::uint8_t> bytes) {
    const std::size_t before = out.sent.size();
    server->handle_peer(relay, peer, bytes, clock.now, out);
    return {out.sent.begin() + static_cast<std::ptrdiff_t>(before), out.sent.end()};
  }
  std::size_t sweep() { return server->sweep(clock.now); }

  FakeClock clock;
  FakeRelays relays;
  FakeOutbox out;
  std::shared_ptr<core::AllocationQuota> quota;
  std::unique_ptr<core::Server> server;
};

using AddAttributes = std::function<void(MessageBuilder&)>;

// One client 5-tuple. Learns REALM/NONCE/PASSWORD-ALGORITHMS from a 401, then signs requests.
class TurnClient {
 public:
  enum class Integrity { kNone, kMd5, kSha256 };

  TurnClient(Harness& h, core::FiveTuple flow, std::string user = std::string(kUser),
             std::string password = std::string(kPassword))
      : h_(h), flow_(flow), user_(std::move(user)), password_(std::move(password)) {}

  const core::FiveTuple& five_tuple() const { return flow_; }
  const std::string& nonce() const { return nonce_; }
  const std::vector<std::uint8_t>& algorithms() const { return algorithms_; }
  void set_nonce(std::string nonce) { nonce_ = std::move(nonce); }
  // Integrity for later requests: SHA-256 echoes PASSWORD-ALGORITHMS and signs with
  // MESSAGE-INTEGRITY-SHA256 (RFC 8489 §9.2.5).
  Integrity integrity = Integrity::kMd5;

  std::vector<std::uint8_t> key() const {
    if (integrity == Integrity::kSha256) {
      auto k = auth::sha256_key(user_, realm_, password_);
      return {k.begin(), k.end()};
    }
    auto k = auth::md5_key(user_, realm_, password_);
    return {k.begin(), k.end()};
  }

  // Unique across all clients of the test binary, so no two requests ever share one.
  static protocol::TransactionId next_tid() {
    static std::uint64_t counter = 0;
    ++counter;
    protocol::TransactionId tid{0x7E, 0x51};
    for (std::size_t i = 0; i < 8; ++i) tid[11 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return tid;
  }

  // A request or indication; with `auth` it carries USERNAME, REALM, NONCE (and, for SHA-256,
  // PASSWORD-ALGORITHMS and PASSWORD-ALGORITHM) and integrity with the long-term key.
  std::vector<std::uint8_t> build(Method method, MessageClass cls,
                                  const protocol::TransactionId& tid, const AddAttributes& add,
                                  bool auth) const {
    std::vector<std::uint8_t> buf(70000);
    MessageBuilder b(buf, protocol::message_type(method, cls), tid);
    if (add) add(b);
    if (auth) {
      b.add_string(attr::kUsername, user_);
      b.add_string(attr::kRealm, realm_);
      b.add_string(attr::kNonce, nonce_);
      if (integrity == Integrity::kSha256) {
        b.add(attr::kPasswordAlgorithms, algorithms_);
        b.add_password_algorithm(static_cast<std::uint16_t>(protocol::PasswordAlgorithm::kSha256));
        b.add_message_integrity_sha256(key());
      } else {
        b.add_message_integrity(key());
      }
    }
    auto done = b.finish();
    EXPECT_TRUE(done);
    if (!done) return {};
    return {done->begin(), done->end()};
  }

  // Hands `bytes` to the server on this 5-tuple; the first thing sent back, or an empty Reply.
  Reply send(std::span<const std::uint8_t> bytes) {
    const std::size_t before = h_.out.sent.size();
    h_.server->handle(flow_, bytes, h_.clock.now, h_.out);
    for (std::size_t i = before; i < h_.out.sent.size(); ++i) {
      if (h_.out.sent[i].flow == flow_) return Reply{h_.out.sent[i].bytes};
    }
    return {};
  }

  // An unauthenticated Allocate: expects 401 and remembers REALM, NONCE, PASSWORD-ALGORITHMS.
  Reply challenge() {
    Reply r =
        send(build(Method::kAllocate, MessageClass::kRequest, next_tid(), udp_transport(), false));
    EXPECT_EQ(r.error(), 401);
    learn(r);
    return r;
  }

  // Takes REALM, NONCE and PASSWORD-ALGORITHMS from a 401 or 438.
  void learn(const Reply& r) {
    if (r.has(attr::kRealm)) realm_ = r.text(attr::kRealm);
    if (r.has(attr::kNonce)) nonce_ = r.text(attr::kNonce);
    if (r.has(attr::kPasswordAlgorithms)) algorithms_ = r.raw(attr::kPasswordAlgorithms);
  }

  // An authenticated request (after challenge()); integrity of the reply is checked when present.
  Reply request(Method method, const AddAttributes& add = {},
                std::optional<protocol::TransactionId> tid = std::nullopt) {
    last_tid = tid ? *tid : next_tid();
    last_request = build(method, MessageClass::kRequest, last_tid, add, true);
    Reply r = send(last_request);
    if (r.has(attr::kMessageIntegrity) || r.has(attr::kMessageIntegritySha256)) {
      EXPECT_TRUE(verified(r)) << "reply integrity does not verify";
    }
    return r;
  }

  // Allocate with REQUESTED-TRANSPORT UDP plus `add`.
  Reply allocate(const AddAttributes& add = {}) {
    return request(Method::kAllocate, [&](MessageBuilder& b) {
      udp_transport()(b);
      if (add) add(b);
    });
  }
  // challenge() then allocate(); expects success.
  Reply login_and_allocate(const AddAttributes& add = {}) {
    challenge();
    Reply r = allocate(add);
    EXPECT_TRUE(r.success()) << "Allocate failed with " << r.error();
    return r;
  }

  Reply refresh(std::optional<std::uint32_t> lifetime) {
    return request(Method::kRefresh, [&](MessageBuilder& b) {
      if (lifetime) b.add_u32(attr::kLifetime, *lifetime);
    });
  }
  Reply create_permission(std::initializer_list<TransportAddress> peers) {
    std::vector<TransportAddress> list(peers);
    return request(Method::kCreatePermission, [&](MessageBuilder& b) {
      for (const auto& p : list) b.add_xor_address(attr::kXorPeerAddress, p);
    });
  }
  Reply channel_bind(std::uint16_t channel, const TransportAddress& peer) {
    return request(Method::kChannelBind, [&](MessageBuilder& b) {
      b.add_channel_number(channel);
      b.add_xor_address(attr::kXorPeerAddress, peer);
    });
  }

  // A Send indication (never authenticated); the server never answers it.
  void send_indication(const TransportAddress& peer, std::span<const std::uint8_t> data) {
    send(build(
        Method::kSend, MessageClass::kIndication, next_tid(),
        [&](MessageBuilder& b) {
          b.add_xor_address(attr::kXorPeerAddress, peer);
          b.add(attr::kData, data);
        },
        false));
  }
  // A ChannelData message, padded to 4 bytes on TCP/TLS.
  void channel_data(std::uint16_t channel, std::span<const std::uint8_t> data) {
    const bool stream = flow_.transport != core::Transport::kUdp;
    std::vector<std::uint8_t> frame(stream ? protocol::channel_data_stream_size(data.size())
                                           : protocol::kChannelDataHeader + data.size());
    protocol::write_channel_data_header(frame.data(), channel,
                                        static_cast<std::uint16_t>(data.size()));
    std::copy(data.begin(), data.end(), frame.begin() + protocol::kChannelDataHeader);
    send(frame);
  }

  // MESSAGE-INTEGRITY-SHA256 (if present) or MESSAGE-INTEGRITY verifies with this client's key.
  bool verified(const Reply& r) const {
    auto m = r.view();
    if (!m) return false;
    const auto k = key();
    if (m->find(attr::kMessageIntegritySha256)) {
      return protocol::check_message_integrity_sha256(*m, k) == protocol::Check::kValid;
    }
    return protocol::check_message_integrity(*m, k) == protocol::Check::kValid;
  }

  static AddAttributes udp_transport() {
    return [](MessageBuilder& b) { b.add_requested_transport(protocol::kProtocolUdp); };
  }

  protocol::TransactionId last_tid{};
  std::vector<std::uint8_t> last_request;

 private:
  Harness& h_;
  core::FiveTuple flow_;
  std::string user_;
  std::string password_;
  std::string realm_ = std::string(kRealm);
  std::string nonce_;
  std::vector<std::uint8_t> algorithms_;
};

inline std::vector<std::uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

}  // namespace tern::test
