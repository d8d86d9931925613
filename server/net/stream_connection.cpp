// StreamConnection for plain TCP and for TLS (RFC 8489 §6.2.2, §6.2.3; RFC 8656 §12.5 framing).
#include "stream_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

#include "tern/protocol/stream.hpp"

namespace tern::net {

namespace {
constexpr std::size_t kBufferSize = protocol::kMaxStreamFrame + 4096;
constexpr std::size_t kMaxQueuedBytes = 1 << 20;  // a client that never reads gets dropped

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
                                           std::chrono::seconds idle_timeout)
    : stream_(std::move(stream)),
      flow_(flow),
      core_(core),
      router_(router),
      budget_(budget),
      idle_timeout_(idle_timeout),
      idle_(stream_.get_executor()),
      in_(kBufferSize) {
  budget_.by_transport[static_cast<std::size_t>(flow_.transport)].fetch_add(1);
}

template <class Stream>
StreamConnection<Stream>::~StreamConnection() {
  budget_.active.fetch_sub(1, std::memory_order_relaxed);
  budget_.by_transport[static_cast<std::size_t>(flow_.transport)].fetch_sub(1);
}

template <class Stream>
void StreamConnection<Stream>::start() {
  router_.add_stream(flow_, this->weak_from_this());
  arm_idle_timer();
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    handshake();
  } else {
    read();
  }
}

template <class Stream>
void StreamConnection<Stream>::handshake() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    stream_.async_handshake(boost::asio::ssl::stream_base::server,
                            [self = this->shared_from_this()](boost::system::error_code ec) {
                              if (ec) return self->close();
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
        self->used_ += n;
        self->arm_idle_timer();
        if (!self->consume()) return self->close();
        self->read();
      });
}

// Cuts every complete frame from the buffer and hands it to the core. False = close.
template <class Stream>
bool StreamConnection<Stream>::consume() {
  std::size_t pos = 0;
  const auto now = core::Instant::current();
  while (pos < used_) {
    auto size = protocol::next_frame_size(std::span(in_.data() + pos, used_ - pos),
                                         core_.options().max_channel);
    if (!size) return false;
    if (*size == 0 || *size > used_ - pos) break;
    core_.handle(flow_, std::span(in_.data() + pos, *size), now, *this);
    pos += *size;
  }
  router_.flush();  // datagrams for peers go out once per read, batched
  std::copy(in_.begin() + static_cast<std::ptrdiff_t>(pos),
            in_.begin() + static_cast<std::ptrdiff_t>(used_), in_.begin());
  used_ -= pos;
  return !closed_;
}

template <class Stream>
void StreamConnection<Stream>::to_client(const core::FiveTuple&, std::span<const std::uint8_t> bytes) {
  std::size_t queued = 0;
  for (const auto& b : out_) queued += b.size();
  if (queued + bytes.size() > kMaxQueuedBytes) {
    core_.count_drop(core::Drop::kQuota);
    // A client that does not read: close it, but not from inside the core's call.
    boost::asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
    return;
  }
  out_.emplace_back(bytes.begin(), bytes.end());
  if (out_.size() == 1) write();
}

template <class Stream>
void StreamConnection<Stream>::write() {
  boost::asio::async_write(stream_, boost::asio::buffer(out_.front()),
                           [self = this->shared_from_this()](boost::system::error_code ec, std::size_t) {
                             if (ec) return self->close();
                             self->out_.pop_front();
                             if (!self->out_.empty()) self->write();
                           });
}

template <class Stream>
void StreamConnection<Stream>::arm_idle_timer() {
  idle_.expires_after(idle_timeout_);
  idle_.async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    // A connection that carries an allocation lives as long as the allocation does.
    if (self->core_.has_allocation(self->flow_)) return self->arm_idle_timer();
    self->close();
  });
}

template <class Stream>
void StreamConnection<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  router_.remove_stream(flow_);
  core_.connection_closed(flow_);  // its allocation ends with it (RFC 8656 §3.1)
  idle_.cancel();
  boost::system::error_code ignored;
  lowest(stream_).shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  lowest(stream_).close(ignored);
}

template class StreamConnection<TcpStream>;
template class StreamConnection<TlsStream>;

}  // namespace tern::net
