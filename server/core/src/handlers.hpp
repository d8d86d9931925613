// Internal interface between the core's dispatcher and its per-method handlers.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "allocation.hpp"
#include "tern/core/server.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/builder.hpp"
#include "tern/protocol/error_code.hpp"
#include "tern/protocol/message.hpp"

namespace tern::core {

using protocol::ErrorCode;

struct Request {
  const FiveTuple& flow;
  const protocol::MessageView& message;
  Instant now;
  bool fingerprint;  // the request carried a valid FINGERPRINT, so the response gets one
};

using Reply = std::span<const std::uint8_t>;  // empty = stay silent

// Everything a TURN handler works on; one per worker, owned by Server.
struct Turn {
  const ServerOptions& options;
  const ServerDeps& deps;
  AllocationTable& allocations;
  ReplyRateLimit& rate_limit;
  ServerStats& stats;
  std::span<std::uint8_t> buf;  // scratch for the reply
  std::uint64_t& rng_state;
  bool draining = false;
  std::uint64_t policy_epoch = 0;    // bumped by every reconfigure
  bool may_fetch = true;             // RFC 8016: an allocation of another worker may be fetched
  bool fetched_wrong_owner = false;  // a fetch found it, but not the requester's
  std::vector<FiveTuple>& fetching;  // 5-tuples whose allocation is being fetched

  // splitmix64: transaction ids of Data indications need not be secret, only distinct.
  std::uint64_t random() noexcept {
    std::uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // For the indications tern sends (Data, ConnectionAttempt).
  protocol::TransactionId random_tid() noexcept {
    protocol::TransactionId tid{};
    for (std::size_t i = 0; i < tid.size(); i += 8) {
      const std::uint64_t r = random();
      for (std::size_t j = 0; j < 8 && i + j < tid.size(); ++j) {
        tid[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
      }
    }
    return tid;
  }
};

// Known attributes per RFC 8489/8656/6062/7635/8445, and RFC 5780's when `nat_discovery` is
// on; a request naming another comprehension-required type gets 420 (RFC 8489 §6.3.1).
std::size_t unknown_required_attributes(const protocol::MessageView& m,
                                        std::span<std::uint16_t> out,
                                        bool nat_discovery = false) noexcept;

// Starts a response of `cls` to `req` in `buf`.
protocol::MessageBuilder start_response(const Request& req, protocol::MessageClass cls,
                                        std::span<std::uint8_t> buf) noexcept;
// Adds SOFTWARE (if configured), MESSAGE-INTEGRITY(-SHA256) with `key` (if given) and
// FINGERPRINT (if the request had one), then finishes.
Reply finish_response(const Request& req, const ServerOptions& options, protocol::MessageBuilder& b,
                      const SessionKey* key = nullptr) noexcept;
// finish_response for an answer sent later than its request (RFC 6062 Connect).
Reply finish_message(const ServerOptions& options, protocol::MessageBuilder& b,
                     const SessionKey* key, bool fingerprint) noexcept;
Reply error_response(const Request& req, const ServerOptions& options, ErrorCode code,
                     std::span<std::uint8_t> buf, std::span<const std::uint16_t> unknown = {},
                     const SessionKey* key = nullptr) noexcept;

// RFC 8489 §12: Binding.
Reply handle_binding(const Request& req, const ServerOptions& options,
                     std::span<std::uint8_t> buf) noexcept;
// RFC 5780 §6 Binding over UDP (options.nat_discovery set): CHANGE-REQUEST picks the source
// among the four addresses, RESPONSE-PORT the client's port; RESPONSE-ORIGIN, OTHER-ADDRESS,
// MAPPED-ADDRESS and an echoed PADDING are added. Sets `reply_to` to the 5-tuple to answer on.
// Whether `arrived` is one of the four addresses RFC 5780 is served on.
bool nat_discovery_address(const ServerOptions::NatDiscovery& nd,
                           const protocol::TransportAddress& arrived) noexcept;
Reply handle_nat_discovery_binding(const Request& req, const ServerOptions& options,
                                   std::span<std::uint8_t> buf, FiveTuple& reply_to) noexcept;
// RFC 3489 §9: classic Binding without the magic cookie, answered with MAPPED-ADDRESS only.
// RFC 8016 §3.2.2: an allocation is made at, or moves to, `flow`; if another allocation
// moved away from it to another worker, that worker stops serving it as its previous 5-tuple.
void claim_flow(Turn& t, const FiveTuple& flow, TimePoint now);
Reply handle_classic_binding(const Request& req, std::span<std::uint8_t> buf) noexcept;
// RFC 8489 §11: a cookie-less request over DTLS gets 500, in the classic header it came with.
Reply classic_server_error(const Request& req, std::span<std::uint8_t> buf) noexcept;

// RFC 8489 §9.2.4 long-term credentials: either the key the request was verified with, or
// the error reply (401, 438, 400) to send instead. `existing` is the client's allocation, whose
// key is used when the username matches, so rotated credentials never break a live session.
struct AuthOutcome {
  std::optional<SessionKey> key;
  Reply reply;
};
// `nonce_owner`: another address whose nonces are good too (a ConnectionBind may sign with the
// nonce its control connection got, RFC 6062 §4.4).
AuthOutcome authenticate(Turn& t, const Request& req, const Allocation* existing,
                         const protocol::TransportAddress* nonce_owner = nullptr);
// An allocation made or refreshed with an access token lives no longer than the token
// (RFC 7635 §7.2); other lifetimes are returned as they are.
std::chrono::seconds within_token(const SessionKey& key, std::chrono::seconds lifetime,
                                  WallTime now);

// RFC 8656 methods, one handler each. They run after authentication.
Reply handle_allocate(Turn& t, const Request& req, const SessionKey& key);
// `moved`: mobility_refresh has just moved `a` to the request's 5-tuple (RFC 8016).
Reply handle_refresh(Turn& t, const Request& req, const SessionKey& key, Allocation& a,
                     bool moved = false);
Reply handle_create_permission(Turn& t, const Request& req, const SessionKey& key, Allocation& a);
Reply handle_channel_bind(Turn& t, const Request& req, const SessionKey& key, Allocation& a);

// RFC 6062 TCP allocations: Connect (answered later by connect_outcome when the connection
// to the peer is up or has failed), ConnectionBind (on a new client connection, so without an
// allocation of its own), and ConnectionAttempt for a peer that connected (0 = refuse it).
Reply handle_connect(Turn& t, const Request& req, const SessionKey& key, Allocation& a);
Reply connect_outcome(Turn& t, Allocation& a, const Allocation::PendingConnect& connect, bool ok,
                      TimePoint now);
Reply handle_connection_bind(Turn& t, const Request& req, const SessionKey& key);
ConnectionId connection_attempt(Turn& t, Allocation& a, const protocol::TransportAddress& peer,
                                TimePoint now, Outbox& out);
// RFC 6062 §5.2-5.3: how long a peer connection waits for its ConnectionBind.
inline constexpr std::chrono::seconds kConnectionBindWindow{30};

// RFC 8016 mobility: the MOBILITY-TICKET check of an Allocate (nullopt = go on), a new ticket
// for `a`, and a Refresh with a ticket from a 5-tuple that has no allocation (moves it here).
std::optional<ErrorCode> mobility_refused(const Turn& t, const Request& req);
std::string next_ticket(const Turn& t, Allocation& a);
Reply mobility_refresh(Turn& t, const Request& req, const SessionKey& key);

// Indications and ChannelData: relayed or dropped, never answered.
void handle_send_indication(Turn& t, const Request& req, Allocation& a, Outbox& out);
void relay_channel_data(Turn& t, Allocation& a, std::uint16_t channel,
                        std::span<const std::uint8_t> payload, TimePoint now, Outbox& out);
void relay_from_peer(Turn& t, Allocation& a, const RelayEndpoint& relay,
                     const protocol::TransportAddress& peer, std::span<const std::uint8_t> data,
                     TimePoint now, Outbox& out);

void report_icmp(Turn& t, Allocation& a, const protocol::TransportAddress& peer,
                 const protocol::IcmpValue& icmp, TimePoint now, Outbox& out);

// Whether tern may send to `peer` at all (deny list, allow list, own relays; reference C.0).
// `kAny` for CreatePermission, whose port does not matter (RFC 8656 §9.1); the sends it
// permits are checked again with their ports.
enum class PeerPort { kExact, kAny };
bool peer_allowed(const Turn& t, const protocol::TransportAddress& peer,
                  PeerPort port = PeerPort::kExact);
// Ends an allocation now: closes its relays and gives back its quota.
void release_allocation(Turn& t, Allocation& a);
// peer_allowed() for a channel's peer, cached per policy epoch and relay generation.
bool channel_peer_allowed(const Turn& t, const ChannelBinding& binding);
// relay.offload: tells the event sink which of `a`'s channel bindings the kernel may relay now
// (UDP clients that cannot move, live permission, peer allowed); see EventSink::routes.
void publish_routes(const Turn& t, const Allocation& a, TimePoint now);
// Reports an allocation event to deps.events, if any.
void report(const Turn& t, AllocationEvent event, const Allocation& a,
            std::chrono::seconds lifetime = std::chrono::seconds(0),
            const FiveTuple* previous = nullptr);

}  // namespace tern::core

namespace tern::core {
// RFC 8656 §7.2 step "lifetime": min(requested, max), and never below the default. A
// malformed LIFETIME is nullopt (400).
std::optional<std::chrono::seconds> granted_lifetime(const ServerOptions& options,
                                                     const protocol::MessageView& m);
}  // namespace tern::core
