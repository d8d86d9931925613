// DtlsEndpoint: DTLSv1_listen for the stateless cookie exchange, then one SSL per association.
#include "dtls_endpoint.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace tern::net {
namespace {
constexpr std::size_t kMaxRecord = 16 * 1024 + 256;  // the largest plaintext a record carries
constexpr int kRecordsPerDatagram = 64;              // bounds the work one datagram can cause
}  // namespace

DtlsEndpoint::DtlsEndpoint(const protocol::TransportAddress& local,
                           std::shared_ptr<const DtlsContext> ctx, Hooks hooks,
                           StreamTimeouts timeouts)
    : local_(local),
      ctx_(std::move(ctx)),
      hooks_(std::move(hooks)),
      timeouts_(timeouts),
      listen_peer_(BIO_ADDR_new()),
      record_(kMaxRecord) {
  new_listener();
}

DtlsEndpoint::~DtlsEndpoint() {
  for (auto& [flow, a] : associations_) {
    free_ssl(a);
    if (hooks_.closed) hooks_.closed(flow, a.established);
  }
  SSL_free(listen_ssl_);
  BIO_ADDR_free(static_cast<BIO_ADDR*>(listen_peer_));
}

void DtlsEndpoint::free_ssl(Association& a) {
  SSL_free(a.ssl);
  a.ssl = nullptr;
  if (a.replacement) free_ssl(*a.replacement);
  a.replacement.reset();
}

void DtlsEndpoint::set_context(std::shared_ptr<const DtlsContext> ctx) {
  ctx_ = std::move(ctx);
  new_listener();
}

void DtlsEndpoint::new_listener() {
  SSL_free(listen_ssl_);
  listen_ssl_ = nullptr;
  listen_io_ = std::make_unique<DatagramIo>();
  listen_io_->send = &hooks_.send;
  listen_ssl_ = ctx_->new_session(listen_io_.get());
}

std::size_t DtlsEndpoint::established() const noexcept {
  std::size_t n = 0;
  for (const auto& [flow, a] : associations_) n += a.established ? 1 : 0;
  return n;
}

void DtlsEndpoint::receive(const protocol::TransportAddress& client,
                           std::span<const std::uint8_t> datagram, Clock::time_point now) {
  if (datagram.empty()) {
    ++stats_.dropped;
    return;
  }
  const core::FiveTuple flow = flow_of(client);
  auto it = associations_.find(flow);
  if (it == associations_.end()) {
    if (!is_client_hello(datagram)) {
      ++stats_.dropped;
      return;
    }
    return hello(client, datagram, now);
  }
  Association& a = it->second;
  // A ClientHello to an established association is a client that started over (a restart
  // from the same port): it goes through the cookie exchange like a new one (RFC 6347 §4.2.8).
  if (a.established && is_client_hello(datagram)) return hello(client, datagram, now);
  // While a new handshake is under way, handshake and ChangeCipherSpec records are its own.
  const bool handshake_record = datagram[0] == 22 || datagram[0] == 20;
  if (a.replacement && handshake_record) return feed_replacement(flow, a, datagram, now);
  feed(flow, a, datagram, now);
}

DtlsEndpoint::Association DtlsEndpoint::take_listener(Clock::time_point now) {
  Association a;
  a.io = std::move(listen_io_);
  a.io->max_write = std::numeric_limits<std::size_t>::max();
  a.ssl = listen_ssl_;
  a.created = a.last = now;
  listen_ssl_ = nullptr;
  new_listener();
  return a;
}

// The stateless part: a ClientHello without a cookie that verifies gets a HelloVerifyRequest
// (never larger than the ClientHello) and leaves nothing behind.
void DtlsEndpoint::hello(const protocol::TransportAddress& client,
                         std::span<const std::uint8_t> datagram, Clock::time_point now) {
  if (listen_ssl_ == nullptr) new_listener();
  if (listen_ssl_ == nullptr || datagram.size() < kHelloVerifySize) {
    ++stats_.dropped;
    return;
  }
  listen_io_->peer = client;
  listen_io_->in = datagram;
  listen_io_->max_write = datagram.size();
  const std::uint64_t sent = listen_io_->sent;
  const int verified = DTLSv1_listen(listen_ssl_, static_cast<BIO_ADDR*>(listen_peer_));
  listen_io_->in = {};
  if (verified <= 0) {
    ERR_clear_error();
    ++(listen_io_->sent > sent ? stats_.hello_verify : stats_.dropped);
    return;
  }
  const core::FiveTuple flow = flow_of(client);
  Association fresh = take_listener(now);
  if (auto it = associations_.find(flow); it != associations_.end()) {
    // The same client again, already counted: the new handshake waits beside the old one.
    Association& old = it->second;
    if (old.replacement) free_ssl(*old.replacement);
    old.replacement = std::make_unique<Association>(std::move(fresh));
    if (handshake(*old.replacement, now) == Step::kFailed) {
      ++stats_.failed;
      free_ssl(*old.replacement);
      old.replacement.reset();
    }
    return;
  }
  if (hooks_.admit && !hooks_.admit(flow)) {
    ++stats_.refused;
    free_ssl(fresh);
    return;
  }
  auto [it, inserted] = associations_.emplace(flow, std::move(fresh));
  // ServerHello … ServerHelloDone, from the ClientHello DTLSv1_listen kept.
  if (handshake(it->second, now) == Step::kFailed) {
    ++stats_.failed;
    close(flow, false);
  }
}

void DtlsEndpoint::feed(const core::FiveTuple& flow, Association& a,
                        std::span<const std::uint8_t> datagram, Clock::time_point now) {
  a.io->in = datagram;
  if (!a.established) {
    const Step step = handshake(a, now);
    if (step == Step::kFailed) {
      ++stats_.failed;
      return close(flow, false);
    }
    if (step == Step::kPending) {
      a.io->in = {};
      return;
    }
  }
  read_records(flow, a, now);
}

// The new handshake of a client that started over; when it finishes, it replaces the old
// association, whose allocation ends as a closed connection's does.
void DtlsEndpoint::feed_replacement(const core::FiveTuple& flow, Association& a,
                                    std::span<const std::uint8_t> datagram, Clock::time_point now) {
  Association& next = *a.replacement;
  next.io->in = datagram;
  const Step step = handshake(next, now);
  if (step != Step::kDone) {
    next.io->in = {};
    if (step == Step::kFailed) {
      ++stats_.failed;
      free_ssl(next);
      a.replacement.reset();
    }
    return;
  }
  std::unique_ptr<Association> taken = std::move(a.replacement);
  SSL_free(a.ssl);
  a = std::move(*taken);
  if (hooks_.closed) hooks_.closed(flow, true);  // the old association's end
  if (hooks_.admit && !hooks_.admit(flow)) {
    ++stats_.refused;
    free_ssl(a);
    associations_.erase(flow);
    return;
  }
  read_records(flow, a, now);  // anything after the Finished in this datagram
}

// Hands every record in the datagram at a.io->in to `deliver`; a close_notify or a fatal
// error ends the association.
void DtlsEndpoint::read_records(const core::FiveTuple& flow, Association& a,
                                Clock::time_point now) {
  for (int i = 0; i < kRecordsPerDatagram; ++i) {
    const int n = SSL_read(a.ssl, record_.data(), static_cast<int>(record_.size()));
    if (n > 0) {
      a.last = now;
      hooks_.deliver(flow, std::span(record_.data(), static_cast<std::size_t>(n)));
      continue;
    }
    const int error = SSL_get_error(a.ssl, n);
    if (error == SSL_ERROR_WANT_READ) break;
    ERR_clear_error();
    if (error != SSL_ERROR_ZERO_RETURN) ++stats_.failed;
    // close_notify from the client is answered with ours; a fatal error was already alerted.
    return close(flow, error == SSL_ERROR_ZERO_RETURN);
  }
  a.io->in = {};
}

DtlsEndpoint::Step DtlsEndpoint::handshake(Association& a, Clock::time_point now) {
  const int r = SSL_do_handshake(a.ssl);
  if (r == 1) {
    a.established = true;
    a.last = now;
    return Step::kDone;
  }
  const int error = SSL_get_error(a.ssl, r);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return Step::kPending;
  ERR_clear_error();
  return Step::kFailed;
}

bool DtlsEndpoint::seal(const protocol::TransportAddress& client,
                        std::span<const std::uint8_t> plaintext) {
  auto it = associations_.find(flow_of(client));
  if (it == associations_.end() || !it->second.established) return false;
  if (plaintext.empty() || plaintext.size() > kMaxRecord - 256) return false;
  if (SSL_write(it->second.ssl, plaintext.data(), static_cast<int>(plaintext.size())) <= 0) {
    ERR_clear_error();
    return false;
  }
  return true;
}

void DtlsEndpoint::tick(Clock::time_point now) {
  std::vector<core::FiveTuple> ended;
  for (auto& [flow, a] : associations_) {
    if (a.replacement) {
      if (now - a.replacement->created >= timeouts_.handshake) {
        ++stats_.timed_out;
        free_ssl(*a.replacement);
        a.replacement.reset();
      } else if (DTLSv1_handle_timeout(a.replacement->ssl) < 0) {
        ERR_clear_error();
      }
    }
    if (!a.established) {
      if (now - a.created >= timeouts_.handshake) {
        ended.push_back(flow);
      } else if (DTLSv1_handle_timeout(a.ssl) < 0) {  // resends the last flight when it is due
        ERR_clear_error();
      }
      continue;
    }
    if (now - a.last < timeouts_.idle) continue;
    // An association that carries an allocation lives as long as the allocation does.
    if (hooks_.keep_idle && hooks_.keep_idle(flow)) {
      a.last = now;
      continue;
    }
    ended.push_back(flow);
  }
  for (const auto& flow : ended) {
    ++stats_.timed_out;
    close(flow, true);
  }
}

void DtlsEndpoint::close_all() {
  std::vector<core::FiveTuple> all;
  for (const auto& [flow, a] : associations_) all.push_back(flow);
  for (const auto& flow : all) close(flow, true);
}

void DtlsEndpoint::close(const core::FiveTuple& flow, bool notify) {
  auto it = associations_.find(flow);
  if (it == associations_.end()) return;
  Association a = std::move(it->second);
  associations_.erase(it);
  if (notify && a.established) {
    a.io->in = {};
    if (SSL_shutdown(a.ssl) < 0) ERR_clear_error();  // sends our close_notify
  }
  free_ssl(a);
  if (hooks_.closed) hooks_.closed(flow, a.established);
}

}  // namespace tern::net
