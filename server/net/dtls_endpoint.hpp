// One DTLS listener's associations, without sockets or timers: datagrams in, records out, the
// stateless cookie exchange before anything is kept, handshake and idle timeouts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "dtls.hpp"
#include "options.hpp"
#include "tern/core/five_tuple.hpp"

namespace tern::net {

struct DtlsStats {
  std::uint64_t hello_verify = 0;  // HelloVerifyRequests sent (ClientHellos without a good cookie)
  std::uint64_t dropped = 0;       // datagrams from unknown clients that are no ClientHello
  std::uint64_t refused = 0;       // good cookies turned away by `admit`
  std::uint64_t failed = 0;        // handshakes or records OpenSSL rejected
  std::uint64_t timed_out = 0;     // handshakes not done in time, idle associations
};

class DtlsEndpoint {
 public:
  using Clock = std::chrono::steady_clock;
  struct Hooks {
    DatagramIo::Send send;  // a datagram for a client
    // The plaintext of one record from an established association (a STUN message or
    // ChannelData).
    std::function<void(const core::FiveTuple&, std::span<const std::uint8_t>)> deliver;
    // A client has proved its address with a cookie: may an association be kept for it?
    std::function<bool(const core::FiveTuple&)> admit;
    // An admitted association is gone; `established`: its handshake had finished.
    std::function<void(const core::FiveTuple&, bool established)> closed;
    // An idle, established association stays while this says so (it carries an allocation).
    std::function<bool(const core::FiveTuple&)> keep_idle;
  };

  DtlsEndpoint(const protocol::TransportAddress& local, std::shared_ptr<const DtlsContext> ctx,
               Hooks hooks, StreamTimeouts timeouts);
  ~DtlsEndpoint();  // frees every association, telling `closed`
  DtlsEndpoint(const DtlsEndpoint&) = delete;
  DtlsEndpoint& operator=(const DtlsEndpoint&) = delete;

  // New handshakes use `ctx`; associations keep the context they began with.
  void set_context(std::shared_ptr<const DtlsContext> ctx);
  void receive(const protocol::TransportAddress& client, std::span<const std::uint8_t> datagram,
               Clock::time_point now);
  // Sends `plaintext` as one record to an established association; false when there is none.
  bool seal(const protocol::TransportAddress& client, std::span<const std::uint8_t> plaintext);
  // Retransmits handshake flights that are due and ends associations past their timeouts.
  void tick(Clock::time_point now);
  // Ends every association with a close_notify.
  void close_all();

  std::size_t associations() const noexcept { return associations_.size(); }
  std::size_t established() const noexcept;
  const DtlsStats& stats() const noexcept { return stats_; }

 private:
  struct Association {
    std::unique_ptr<DatagramIo> io;
    SSL* ssl = nullptr;
    Clock::time_point created;
    Clock::time_point last;  // the last record (or the handshake's end)
    bool established = false;
    // A new handshake from the same address and port, kept apart until it finishes; only then
    // does it replace this association (RFC 6347 §4.2.8), so that a replayed ClientHello
    // cannot end a working one.
    std::unique_ptr<Association> replacement;
  };
  enum class Step : std::uint8_t { kDone, kPending, kFailed };
  core::FiveTuple flow_of(const protocol::TransportAddress& client) const {
    return {client, local_, core::Transport::kDtls};
  }
  void hello(const protocol::TransportAddress& client, std::span<const std::uint8_t> datagram,
             Clock::time_point now);
  void feed(const core::FiveTuple& flow, Association& a, std::span<const std::uint8_t> datagram,
            Clock::time_point now);
  void feed_replacement(const core::FiveTuple& flow, Association& a,
                        std::span<const std::uint8_t> datagram, Clock::time_point now);
  void read_records(const core::FiveTuple& flow, Association& a, Clock::time_point now);
  Step handshake(Association& a, Clock::time_point now);
  void close(const core::FiveTuple& flow, bool notify);
  static void free_ssl(Association& a);
  // The listening SSL, with the ClientHello whose cookie verified, as a new association.
  Association take_listener(Clock::time_point now);
  void new_listener();

  protocol::TransportAddress local_;
  std::shared_ptr<const DtlsContext> ctx_;
  Hooks hooks_;
  StreamTimeouts timeouts_;
  // The one SSL that answers ClientHellos from clients without an association; it becomes an
  // association's when a cookie verifies, and a fresh one takes its place.
  std::unique_ptr<DatagramIo> listen_io_;
  SSL* listen_ssl_ = nullptr;
  void* listen_peer_ = nullptr;  // BIO_ADDR for DTLSv1_listen
  std::unordered_map<core::FiveTuple, Association, core::FiveTupleHash> associations_;
  std::vector<std::uint8_t> record_;  // one decrypted record
  DtlsStats stats_;
};

}  // namespace tern::net
