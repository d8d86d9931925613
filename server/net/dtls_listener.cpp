// DtlsListener: readiness from Asio's reactor, recvfrom on the raw fd, sendto for each record.
#include "dtls_listener.hpp"

#include <sys/socket.h>

#include "sockaddr.hpp"
#include "sockets.hpp"
#include "wake_stats.hpp"

namespace tern::net {
namespace {
// A record with the largest STUN message tern takes over UDP (4096), plus the record header,
// explicit nonce and tag.
constexpr std::size_t kDatagram = 4096 + 64;
constexpr int kPerWake = 64;  // datagrams per wake-up, so others get their turn
}  // namespace

DtlsListener::DtlsListener(boost::asio::io_context& io, int fd, core::Server& core, Router& router,
                           std::shared_ptr<const DtlsContext> ctx, ConnectionBudget& budget,
                           StreamTimeouts timeouts)
    : socket_(io), ticker_(io), core_(core), router_(router), budget_(budget), in_(kDatagram) {
  local_ = local_address(fd);
  socket_.assign(local_.family == protocol::Family::kIPv6 ? boost::asio::ip::udp::v6()
                                                          : boost::asio::ip::udp::v4(),
                 fd);
  socket_.non_blocking(true);
  endpoint_ = std::make_unique<DtlsEndpoint>(local_, std::move(ctx), hooks(), timeouts);
}

DtlsListener::~DtlsListener() {
  stopped_ = true;  // the endpoint's associations are freed without touching the core
  endpoint_.reset();
}

DtlsEndpoint::Hooks DtlsListener::hooks() {
  DtlsEndpoint::Hooks h;
  h.send = [this](const protocol::TransportAddress& to, std::span<const std::uint8_t> bytes) {
    sockaddr_storage ss{};
    const socklen_t len = to_sockaddr(to, ss);
    (void)::sendto(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT,
                   reinterpret_cast<sockaddr*>(&ss), len);
  };
  h.deliver = [this](const core::FiveTuple& flow, std::span<const std::uint8_t> record) {
    core_.handle(flow, record, core::Instant::current(), *this);
  };
  h.admit = [this](const core::FiveTuple& flow) {
    if (stopped_ || !budget_.try_acquire(flow.client)) return false;
    budget_.by_transport(core::Transport::kDtls).fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  h.closed = [this](const core::FiveTuple& flow, bool established) {
    budget_.release(flow.client);
    budget_.by_transport(core::Transport::kDtls).fetch_sub(1, std::memory_order_relaxed);
    // The allocation ends with its association, as with TCP and TLS (RFC 8656 §3.1).
    if (established && !stopped_) core_.connection_closed(flow);
  };
  h.keep_idle = [this](const core::FiveTuple& flow) { return core_.has_allocation(flow); };
  return h;
}

void DtlsListener::start() {
  wait();
  tick_every_second();
}

void DtlsListener::stop() {
  endpoint_->close_all();
  stopped_ = true;
  ticker_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void DtlsListener::wait() {
  socket_.async_wait(boost::asio::ip::udp::socket::wait_read, [this](boost::system::error_code ec) {
    if (ec || stopped_) return;  // closed on shutdown or by a reload
    drain();
    wait();
  });
}

void DtlsListener::drain() {
  const int fd = socket_.native_handle();
  const auto now = DtlsEndpoint::Clock::now();
  int received = 0;
  for (; received < kPerWake; ++received) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd, in_.data(), in_.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) break;
    if (static_cast<std::size_t>(n) > in_.size()) {  // larger than any record tern takes
      core_.count_drop(core::Drop::kTooLarge);
      continue;
    }
    endpoint_->receive(from_sockaddr(reinterpret_cast<sockaddr*>(&from)),
                       std::span(in_.data(), static_cast<std::size_t>(n)), now);
  }
  note_received(received);
  router_.flush();  // relayed to peers, batched per wake-up
}

void DtlsListener::tick_every_second() {
  ticker_.expires_after(std::chrono::seconds(1));
  ticker_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopped_) return;
    endpoint_->tick(DtlsEndpoint::Clock::now());
    router_.flush();
    tick_every_second();
  });
}

void DtlsListener::to_client(const core::FiveTuple& flow, std::span<const std::uint8_t> bytes) {
  if (flow.transport == core::Transport::kDtls && flow.server == local_) {
    endpoint_->seal(flow.client, bytes);
    return;
  }
  router_.to_client(flow, bytes);
}

}  // namespace tern::net
