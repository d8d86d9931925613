// StreamConnection for plain TCP and for TLS (RFC 8489 §6.2.2, §6.2.3; RFC 8656 §12.5 framing).
#include "stream_connection.hpp"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "tern/protocol/first_bytes.hpp"
#include "tern/protocol/proxy_header.hpp"
#include "tern/protocol/stream.hpp"

namespace tern::net {

namespace {
constexpr std::size_t kInitialBuffer = 4 * 1024;     // one page while a connection is quiet
constexpr std::size_t kBusyBuffer = 64 * 1024;       // reads that fill the buffer double it
constexpr std::size_t kMaxQueuedBytes = 1 << 20;     // a client that never reads gets dropped
constexpr std::size_t kKeptWriteBuffer = 64 * 1024;  // larger write buffers are freed when idle
// A data connection stops reading its peer while this much waits for the client.
constexpr std::size_t kPeerPauseBytes = 256 * 1024;

template <class Stream>
boost::asio::ip::tcp::socket& lowest(Stream& s) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return s.next_layer();
  } else {
    return s;
  }
}
}  // namespace

template <class Stream>
StreamConnection<Stream>::StreamConnection(Stream stream, core::FiveTuple flow, core::Server& core,
                                           Router& router, ConnectionBudget& budget,
                                           StreamTimeouts timeouts, bool proxied, WebFallback web)
    : stream_(std::move(stream)),
      flow_(flow),
      counted_as_(flow.client),
      core_(core),
      router_(router),
      budget_(budget),
      timeouts_(timeouts),
      idle_(stream_.get_executor()),
      last_frame_(std::chrono::steady_clock::now()),
      in_(kInitialBuffer),
      proxied_(proxied),
      web_(std::move(web)) {
  budget_.by_transport(flow_.transport).fetch_add(1, std::memory_order_relaxed);
}

template <class Stream>
StreamConnection<Stream>::~StreamConnection() {
  budget_.release(counted_as_, transferred_);
  budget_.by_transport(flow_.transport).fetch_sub(1, std::memory_order_relaxed);
}

template <class Stream>
void StreamConnection<Stream>::start() {
  if (!proxied_) return begin();
  arm_handshake_timer();  // the header, and a TLS handshake after it, share the deadline
  read_proxy_header();
}

// Reads exactly the bytes the header still needs, so that nothing after it (a TLS ClientHello,
// the first STUN message) is taken from the stream.
template <class Stream>
void StreamConnection<Stream>::read_proxy_header() {
  const auto missing = protocol::proxy_header_missing(std::span(in_.data(), used_));
  if (!missing) {
    budget_.count_refusals(Refusal::kProxyHeader, 1);
    return close();
  }
  if (*missing == 0) return adopt_proxy_header();
  if (used_ + *missing > in_.size()) in_.resize(used_ + *missing);  // within kProxyMaxSize
  boost::asio::async_read(
      lowest(stream_), boost::asio::buffer(in_.data() + used_, *missing),
      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec || self->closed_) return self->close();
        self->used_ += n;
        self->read_proxy_header();
      });
}

// From here on the client is the one the header names: in the core's 5-tuple (so in
// XOR-MAPPED-ADDRESS, quotas, rate limits and logs) and in the per-source connection count.
template <class Stream>
void StreamConnection<Stream>::adopt_proxy_header() {
  const auto header = protocol::parse_proxy_header(std::span(in_.data(), used_));
  used_ = 0;
  if (!header || header->datagram) {
    budget_.count_refusals(Refusal::kProxyHeader, 1);
    return close();
  }
  if (header->has_addresses) {
    if (!budget_.try_transfer(counted_as_, header->source)) return close();
    counted_as_ = header->source;
    transferred_ = true;
    flow_.client = header->source;
  }
  begin();
}

template <class Stream>
void StreamConnection<Stream>::begin() {
  // Two proxies naming the same client address and port: the second connection is refused.
  if (!router_.add_stream(flow_, this->weak_from_this())) {
    budget_.count_refusals(Refusal::kProxyHeader, 1);
    return close();
  }
  started_ = true;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    if (!proxied_) arm_handshake_timer();
    handshake();
  } else {
    arm_idle_timer();  // replaces a proxied connection's handshake timer (expires_at cancels it)
    read();
  }
}

// A TLS client has timeouts_.handshake to finish its handshake, however it trickles its bytes;
// then the idle timer takes over.
template <class Stream>
void StreamConnection<Stream>::arm_handshake_timer() {
  idle_.expires_after(timeouts_.handshake);
  idle_.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the handshake finished and the idle timer replaced this one
    if (auto self = weak.lock(); self && !self->closed_) self->close();
  });
}

template <class Stream>
void StreamConnection<Stream>::handshake() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    stream_.async_handshake(boost::asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](boost::system::error_code ec) {
                              if (ec) return self->close();
                              self->last_frame_ = std::chrono::steady_clock::now();
                              self->arm_idle_timer();
                              self->read();
                            });
  }
}

template <class Stream>
void StreamConnection<Stream>::read() {
  stream_.async_read_some(
      boost::asio::buffer(in_.data() + used_, in_.size() - used_),
      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec || self->closed_) return self->close();
        const bool filled = n == self->in_.size() - self->used_;
        self->used_ += n;
        if (filled && self->in_.size() < kBusyBuffer) self->in_.resize(self->in_.size() * 2);
        if (!self->consume()) return self->close();
        if (self->peer_) return;  // a data connection now (RFC 6062): its own loops read
        self->read();
      });
}

// Cuts every complete frame from the buffer and hands it to the core. False = close.
template <class Stream>
bool StreamConnection<Stream>::consume() {
  if (web_ && !looked_for_web()) return !closed_;
  // A PROXY header from a network not trusted to send one: refused, not read as ChannelData.
  if (!proxied_ && !first_bytes_checked_) {
    first_bytes_checked_ = true;
    if (protocol::starts_like_proxy_header(
            std::span(in_.data(), std::min<std::size_t>(used_, 6)))) {
      budget_.count_refusals(Refusal::kProxyHeader, 1);
      return false;
    }
  }
  std::size_t pos = 0;
  const auto now = core::Instant::current();
  while (pos < used_) {
    auto size = protocol::next_frame_size(std::span(in_.data() + pos, used_ - pos),
                                          core_.options().max_channel);
    if (!size) {
      router_.flush();  // what the good frames before it produced still goes out
      return false;
    }
    if (*size > in_.size()) in_.resize(*size);  // at most protocol::kMaxStreamFrame
    if (*size == 0 || *size > used_ - pos) break;
    core_.handle(flow_, std::span(in_.data() + pos, *size), now, *this);
    pos += *size;
    if (auto bound = router_.tcp_relays().take_bound(flow_)) {
      router_.flush();
      become_data_connection(*bound, std::span(in_.data() + pos, used_ - pos));
      return !closed_;
    }
  }
  router_.flush();  // datagrams for peers go out once per read, batched
  // Only whole frames count as activity: bytes trickled without ever completing a frame
  // (slowloris) do not keep a connection open past its idle timeout.
  if (pos > 0) last_frame_ = std::chrono::steady_clock::now();
  std::copy(in_.begin() + static_cast<std::ptrdiff_t>(pos),
            in_.begin() + static_cast<std::ptrdiff_t>(used_), in_.begin());
  used_ -= pos;
  return !closed_;
}

template <class Stream>
bool StreamConnection<Stream>::looked_for_web() {
  const auto kind = protocol::classify_stream(std::span(in_.data(), used_));
  if (kind == protocol::StreamKind::kUnknown) return false;
  if (kind == protocol::StreamKind::kHttp) {
    hand_to_web();
    return false;
  }
  web_ = nullptr;  // TURN (or nonsense, which the framing refuses) from here on
  return true;
}

// The TLS session and the socket leave this connection, which then closes as a TURN
// connection without touching either.
template <class Stream>
void StreamConnection<Stream>::hand_to_web() {
  const WebFallback web = std::move(web_);
  web_ = nullptr;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    SSL* ssl = stream_.native_handle();
    // Whole records already taken from the socket (a request written in several pieces) are
    // decrypted here, so that nothing is left in this stream's BIO; a partial one stays
    // inside the session, which moves. What still cannot move is ciphertext beyond the BIO
    // (a flight of more than its 17 KB): such a client is closed rather than answered from a
    // broken stream, as is one the session has something to send to.
    for (std::size_t drained = 0; drained < 64 * 1024;) {
      if (used_ == in_.size()) in_.resize(in_.size() * 2);
      const int n = SSL_read(ssl, in_.data() + used_, static_cast<int>(in_.size() - used_));
      if (n <= 0) break;
      used_ += static_cast<std::size_t>(n);
      drained += static_cast<std::size_t>(n);
    }
    ERR_clear_error();
    if (BIO_ctrl_pending(SSL_get_rbio(ssl)) == 0 && BIO_ctrl_wpending(SSL_get_wbio(ssl)) == 0) {
      boost::system::error_code ec;
      const int fd = lowest(stream_).release(ec);
      if (!ec) {
        SSL_up_ref(ssl);
        // The BIOs belong to this stream and this thread: the web side gives the session its
        // own before it reads.
        SSL_set_bio(ssl, nullptr, nullptr);
        web(fd, SslSession(ssl), std::vector<std::uint8_t>(in_.begin(), in_.begin() + used_));
        used_ = 0;
      }
    }
  }
  close();
}

template <class Stream>
void StreamConnection<Stream>::to_client(const core::FiveTuple&,
                                         std::span<const std::uint8_t> bytes) {
  if (pending_.size() + writing_.size() + bytes.size() > kMaxQueuedBytes) {
    core_.count_drop(core::Drop::kQuota);
    // A client that does not read: close it, but not from inside the core's call.
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
    return;
  }
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (write_scheduled_) return;
  write_scheduled_ = true;
  // Write once the events at hand are handled, so that every frame they produce for this
  // client shares one send (and, over TLS, one record).
  boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->write(); });
}

template <class Stream>
void StreamConnection<Stream>::write() {
  if (closed_) return;
  writing_.swap(pending_);
  pending_.clear();
  boost::asio::async_write(
      stream_, boost::asio::buffer(writing_),
      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) return self->close();
        self->writing_.clear();
        if (!self->pending_.empty()) return self->write();
        self->write_scheduled_ = false;
        if (self->peer_) {  // a data connection: the client caught up with its peer
          if (self->peer_done_) return self->close();
          if (self->peer_paused_) {
            self->peer_paused_ = false;
            self->peer_to_client();
          }
          return;
        }
        for (auto* b : {&self->writing_, &self->pending_}) {
          if (b->capacity() > kKeptWriteBuffer) std::vector<std::uint8_t>().swap(*b);
        }
      });
}

template <class Stream>
void StreamConnection<Stream>::become_data_connection(TcpRelays::Bound bound,
                                                      std::span<const std::uint8_t> rest) {
  data_id_ = bound.id;
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  const bool v6 = ::getsockname(bound.fd, reinterpret_cast<sockaddr*>(&local), &length) == 0 &&
                  local.ss_family == AF_INET6;
  peer_ = std::make_unique<boost::asio::ip::tcp::socket>(stream_.get_executor());
  boost::system::error_code ec;
  peer_->assign(v6 ? boost::asio::ip::tcp::v6() : boost::asio::ip::tcp::v4(), bound.fd, ec);
  if (ec) {
    ::close(bound.fd);
    return close();
  }
  idle_.cancel();  // a data connection lives as long as both sides and the allocation do
  if (auto* hub = router_.tcp_relays().hub()) {
    hub->attach(data_id_, [weak = this->weak_from_this(), ex = stream_.get_executor()] {
      boost::asio::post(ex, [weak] {
        if (auto self = weak.lock()) self->close();
      });
    });
  }
  std::memmove(in_.data(), rest.data(), rest.size());
  if (in_.size() < kBusyBuffer) in_.resize(kBusyBuffer);
  from_peer_.resize(kBusyBuffer);
  client_to_peer(rest.size());
  peer_to_client();
}

// Client bytes go to the peer as they are, one read then one write at a time, so a slow peer
// slows the client down through TCP rather than through memory here.
template <class Stream>
void StreamConnection<Stream>::client_to_peer(std::size_t ready) {
  if (ready > 0) {
    core_.count_data_connection(ready, 0);
    boost::asio::async_write(
        *peer_, boost::asio::buffer(in_.data(), ready),
        [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec || self->closed_) return self->close();
          self->client_to_peer(0);
        });
    return;
  }
  stream_.async_read_some(
      boost::asio::buffer(in_),
      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec || self->closed_) return self->close();
        self->client_to_peer(n);
      });
}

template <class Stream>
void StreamConnection<Stream>::peer_to_client() {
  peer_->async_read_some(
      boost::asio::buffer(from_peer_),
      [self = this->shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (self->closed_) return;
        if (ec) {  // the peer closed: the client gets what it sent, then the close
          self->peer_done_ = true;
          if (self->queued() == 0) self->close();
          return;
        }
        self->core_.count_data_connection(0, n);
        self->to_client(self->flow_, std::span(self->from_peer_.data(), n));
        if (self->queued() >= kPeerPauseBytes) {
          self->peer_paused_ = true;
          return;
        }
        self->peer_to_client();
      });
}

template <class Stream>
void StreamConnection<Stream>::arm_idle_timer() {
  // Frames only move last_frame_; the timer checks it when it fires, so a busy connection
  // costs no timer operation per read.
  idle_.expires_at(last_frame_ + timeouts_.idle);
  idle_.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self || self->closed_ || self->peer_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < self->last_frame_ + self->timeouts_.idle) return self->arm_idle_timer();
    // A connection that carries an allocation lives as long as the allocation does.
    if (self->core_.has_allocation(self->flow_)) {
      self->last_frame_ = now;
      return self->arm_idle_timer();
    }
    self->close();
  });
}

template <class Stream>
void StreamConnection<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  if (started_) {
    router_.remove_stream(flow_);
    core_.connection_closed(flow_);  // its allocation ends with it (RFC 8656 §3.1)
  }
  idle_.cancel();
  boost::system::error_code ignored;
  if (peer_) {  // RFC 6062 §5.5: either side of a data connection closing closes the other
    peer_->close(ignored);
    if (auto* hub = router_.tcp_relays().hub()) hub->detach(data_id_);
    core_.tcp_data_closed(data_id_);
  }
  lowest(stream_).shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  lowest(stream_).close(ignored);
}

template class StreamConnection<TcpStream>;
template class StreamConnection<TlsStream>;

}  // namespace tern::net
