// The sans-I/O STUN/TURN core: bytes and the time go in, messages to send come out.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tern/core/events.hpp"
#include "tern/core/five_tuple.hpp"
#include "tern/core/mobility.hpp"
#include "tern/core/outbox.hpp"
#include "tern/core/relay.hpp"
#include "tern/core/stats.hpp"
#include "tern/core/tcp_connections.hpp"
#include "tern/protocol/constants.hpp"

namespace tern::auth {
class CredentialStore;
class MobilityTickets;
class NonceIssuer;
class OAuthKeyring;
}  // namespace tern::auth

namespace tern::core {

class AllocationQuota;
class AllocationTable;
struct Allocation;
class ReplyRateLimit;
class PeerPolicy;
struct Request;
struct Turn;

struct ServerOptions {
  std::string software;  // SOFTWARE attribute; empty = not sent
  bool rfc3489 = false;  // answer cookie-less RFC 3489 Binding requests with MAPPED-ADDRESS
  std::string realm = "tern.local";
  std::chrono::seconds default_lifetime{600};  // RFC 8656 §3.2
  std::chrono::seconds max_lifetime{3600};
  std::chrono::seconds permission_lifetime{std::chrono::minutes(5)};  // RFC 8656 §9
  std::chrono::seconds channel_lifetime{600};                         // RFC 8656 §12
  std::uint32_t permissions_per_allocation = 64;
  std::uint32_t channels_per_allocation = 64;
  // 0x4FFF per RFC 8656; protocol::kMaxChannelRfc5766 accepts RFC 5766 clients' numbers.
  std::uint16_t max_channel = protocol::kMaxChannel;
  // Refresh and CreatePermission are refused once a TURN REST credential has expired.
  bool strict_expiry = false;
  // While draining, Allocate gets 300 Try Alternate with the first of these (RFC 8489 §10),
  // or 508 when the list is empty; live allocations carry on.
  std::vector<protocol::TransportAddress> alternate_servers{};
  // Replies per second per source IP to requests that fail authentication; 0 = unlimited.
  std::uint32_t unauthenticated_replies_per_second = 20;
  // Replies one source IP may draw at once; each request of its that authenticates gives one
  // back, so sources whose challenges are answered are never throttled.
  std::uint32_t unauthenticated_reply_burst = 512;
  // RFC 5780 NAT behaviour discovery over UDP: the server's two addresses (IP1:P1 and
  // IP2:P2), with UDP listeners on all four IP and port pairs. Unset = off: CHANGE-REQUEST,
  // RESPONSE-PORT and PADDING get 420 and no response carries OTHER-ADDRESS.
  struct NatDiscovery {
    protocol::TransportAddress primary;
    protocol::TransportAddress alternate;
  };
  std::optional<NatDiscovery> nat_discovery{};
  // RFC 6062 TCP allocations (they also need ServerDeps::tcp); off = REQUESTED-TRANSPORT TCP
  // gets 442.
  bool tcp_relay = false;
  TcpConnectionLimits tcp_connections{};
  // RFC 8016 mobility (it also needs ServerDeps::tickets): MOBILITY-TICKET on Allocate, and
  // Refresh from a new 5-tuple with the ticket moves the allocation. Off = 405.
  bool mobility = false;
  std::uint16_t worker = 0;  // this Server's worker, named in the tickets it issues
  // relay.offload: report channel bindings the kernel may relay (EventSink::routes).
  bool channel_routes = false;
};

// What the TURN methods need besides options; shared between workers, read-only except the
// quota (which locks) and the relay provider (one per worker). Null = TURN requests get 401
// (no credentials) or 508 (no relay).
// One live allocation, as `tern sessions list` shows it.
struct SessionInfo {
  std::uint64_t id = 0;
  FiveTuple flow;
  std::string username;
  std::vector<protocol::TransportAddress> relayed;
  std::chrono::seconds expires_in{0};
  std::size_t permissions = 0;
  std::size_t channels = 0;
};

struct OffloadedTraffic {
  std::uint64_t to_peer_packets = 0;
  std::uint64_t to_peer_bytes = 0;
  std::uint64_t to_client_packets = 0;
  std::uint64_t to_client_bytes = 0;
};

struct ServerDeps {
  std::shared_ptr<const auth::CredentialStore> credentials;
  std::shared_ptr<const auth::NonceIssuer> nonces;
  // RFC 7635 access tokens; null or empty = off (no THIRD-PARTY-AUTHORIZATION, tokens get 420).
  std::shared_ptr<const auth::OAuthKeyring> oauth;
  std::shared_ptr<const PeerPolicy> peers;
  std::shared_ptr<AllocationQuota> quota;
  std::shared_ptr<ReplyRateLimit> reply_limit;  // null = the server makes its own
  RelayProvider* relays = nullptr;
  // RFC 6062 connections of all workers; kept across reconfigure.
  std::shared_ptr<TcpConnectionTable> tcp;
  std::shared_ptr<const auth::MobilityTickets> tickets;  // RFC 8016; shared by the workers
  AllocationMover* mover = nullptr;                      // one per worker; null = this one only
  EventSink* events = nullptr;  // allocation lifecycle, for logs; may be null
};

// A nonce issuer with a fresh random secret; share one among the workers of a process so
// that a nonce one worker issued is good on every other.
std::shared_ptr<const auth::NonceIssuer> make_nonce_issuer(std::uint32_t security_features = 0);

// One per worker; never shared between threads.
class Server {
 public:
  explicit Server(ServerOptions options, ServerDeps deps = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // One datagram from UDP, or one frame cut from a TCP/TLS stream.
  void handle(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now, Outbox& out);
  // One datagram a peer sent to relay socket `relay` (RFC 8656 §11.3, §12.7).
  void handle_peer(RelayId relay, const protocol::TransportAddress& peer,
                   std::span<const std::uint8_t> bytes, Instant now, Outbox& out);
  // An ICMP error for a datagram sent from `relay` to `peer` (RFC 8656 §11.5): reported to
  // the client as a Data indication with an ICMP attribute when a permission exists.
  void handle_peer_icmp(RelayId relay, const protocol::TransportAddress& peer, std::uint8_t type,
                        std::uint8_t code, std::uint32_t error_data, Instant now, Outbox& out);
  // The TCP or TLS connection of `flow` closed: its allocation ends (RFC 8656 §3.1).
  void connection_closed(const FiveTuple& flow);
  // RFC 6062 §5.2: the connection a Connect asked for is up (`ok`) or failed; the Connect is
  // answered. False when it is no longer wanted (close it).
  bool tcp_connected(ConnectionId id, bool ok, Instant now, Outbox& out);
  // RFC 6062 §5.3: `peer` connected to TCP relay `relay`. Its id once the client has been told
  // (ConnectionAttempt); 0 = close it (no permission, no allocation, a limit).
  ConnectionId tcp_peer_connected(RelayId relay, const protocol::TransportAddress& peer,
                                  Instant now, Outbox& out);
  // A bound data connection ended (either side closed).
  void tcp_data_closed(ConnectionId id);
  // Bytes a bound data connection copied in one read: from the client to the peer, or from
  // the peer to the client (counted in the relayed traffic, one read as one packet).
  void count_data_connection(std::size_t from_client, std::size_t from_peer) noexcept {
    if (from_client > 0) {
      stats_.client_received.count(from_client);
      stats_.peer_sent.count(from_client);
    }
    if (from_peer > 0) {
      stats_.peer_received.count(from_peer);
      stats_.client_sent.count(from_peer);
    }
  }
  // RFC 8016 between workers (see AllocationMover): allocation `session` leaves this worker if
  // it is mobile and `owner`'s (SessionKey::owner; its relay sockets are the caller's to carry
  // over), arrives on another with its relays reopened there (same order), and the Refresh that
  // asked for it is handled there again, without a second fetch (no allocation then: 437).
  // `wrong_owner` is set when the allocation is here but another user's (it stays).
  // `to_worker`: where it goes; data from its old 5-tuple that still reaches this worker is
  // passed on there (AllocationMover::forward) while the allocation would have lived.
  MovedAllocation move_out(std::uint64_t session, std::string_view owner, bool& wrong_owner,
                           std::uint16_t to_worker);
  void move_in(MovedAllocation a, std::span<const RelayEndpoint> relays);
  void handle_moved(const FiveTuple& flow, std::span<const std::uint8_t> request, Instant now,
                    Outbox& out, bool wrong_owner = false);
  // Data (ChannelData, Send) from an allocation's old 5-tuple that another worker received
  // after the allocation came here (RFC 8016 §3.2.2); never passed on again.
  void handle_forwarded(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now,
                        Outbox& out);
  // `flow` is another allocation's on the worker it reaches: an allocation here that still
  // served it as its previous 5-tuple stops (data to and from the new one only).
  void previous_taken(const FiveTuple& flow);
  void set_mover(AllocationMover* mover) noexcept { deps_.mover = mover; }
  // Expires allocations, permissions and channels whose time has passed.
  // Only allocations with something due are looked at; returns how many were.
  std::size_t sweep(Instant now);

  const ServerStats& stats() const noexcept { return stats_; }

  // Live reconfiguration (run on this worker's thread). Allocations keep their keys; static
  // users that no longer exist in the new credentials lose their allocations. Returns how many
  // allocations ended.
  std::size_t reconfigure(ServerOptions options, ServerDeps deps);
  // Draining: new allocations are refused (300 or 508), live ones carry on.
  void set_draining(bool draining) noexcept { draining_ = draining; }
  std::vector<SessionInfo> sessions(Instant now) const;
  // Ends allocations of `username` (empty = any) or with `id` (0 = any); returns how many.
  std::size_t kill_sessions(const std::string& username, std::uint64_t id);
  // Reports every allocation's channel routes again (relay.offload): after a change the core
  // does not see, such as a listener a reload removed.
  void republish_routes(Instant now);
  // Traffic the kernel relayed for this worker's channel bindings (relay.offload), counted as
  // if it had passed through here: payload bytes, client to peer and peer to client.
  void count_offloaded(const OffloadedTraffic& t) noexcept;
  // For the network layer on this worker: a datagram it dropped (e.g. a full write queue).
  void count_drop(Drop reason) noexcept { stats_.drop(reason); }
  std::size_t allocation_count() const noexcept;
  bool has_allocation(const FiveTuple& flow) const noexcept;
  const ServerOptions& options() const noexcept { return options_; }

 private:
  void handle_stun(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now,
                   Outbox& out);
  void handle_channel_data(const FiveTuple& flow, std::span<const std::uint8_t> bytes, Instant now,
                           Outbox& out);
  // `reply_to` starts as the request's 5-tuple; RFC 5780 may answer from another address.
  std::span<const std::uint8_t> binding(const Request& req, FiveTuple& reply_to);
  std::span<const std::uint8_t> turn_request(const Request& req, protocol::Method method);
  Turn turn();
  std::size_t end_allocations(const std::vector<FiveTuple>& flows);
  Allocation* data_allocation(const FiveTuple& flow);
  // Data from the old 5-tuple of an allocation that moved to another worker goes there.
  bool forward_moved(const FiveTuple& flow, std::span<const std::uint8_t> bytes, TimePoint now);

  ServerOptions options_;
  ServerDeps deps_;
  ServerStats stats_;
  std::unique_ptr<AllocationTable> allocations_;
  std::vector<std::uint8_t> scratch_;
  std::uint64_t rng_state_ = 0;
  bool draining_ = false;
  bool may_fetch_ = true;             // false while a moved allocation's Refresh is handled again
  bool fetched_wrong_owner_ = false;  // and the worker that has it refused: another user's
  bool may_forward_ = true;           // false while data another worker passed on is handled
  std::vector<FiveTuple> fetching_;   // RFC 8016 fetches under way, by the client's new 5-tuple
  std::uint64_t policy_epoch_ = 0;    // responses and relayed frames are built here
  Instant latest_{};                  // the time of the last request or sweep
};

}  // namespace tern::core
