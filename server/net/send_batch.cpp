// SendBatch: groups queued datagrams per socket and per destination into sendmmsg and UDP GSO.
#include "send_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tern::net {

namespace {
// The kernel's limit on segments per GSO send (UDP_MAX_SEGMENTS) and on one IP datagram.
constexpr std::size_t kMaxSegments = 64;
constexpr std::size_t kMaxGsoBytes = 65000;
// A segment must fit the path MTU: 1452 bytes of UDP payload fit a 1500-byte MTU with an IPv6
// header. Larger runs go out one datagram per message.
constexpr std::size_t kDefaultMaxSegment = 1452;
constexpr auto kGsoRetryAfter = std::chrono::minutes(1);

bool pending_icmp_error(int error) {
  return error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH;
}
}  // namespace

SendBatch::SendBatch() : gso_(gso_available()), gso_max_segment_(kDefaultMaxSegment) {}

bool SendBatch::gso_available() {
  static const bool available = [] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int size = 0;
    socklen_t len = sizeof size;
    const bool ok = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
    ::close(fd);
    return ok;
  }();
  return available;
}

void SendBatch::add(int fd, const sockaddr_storage& to, socklen_t to_len,
                    std::span<const std::uint8_t> bytes) {
  if (count_ == kCapacity) flush();
  Slot& s = slots_[count_++];
  s.fd = fd;
  s.to_len = to_len;
  s.size = static_cast<std::uint16_t>(bytes.size());
  std::memcpy(&s.to, &to, to_len);
  std::copy(bytes.begin(), bytes.end(), s.data.begin());
}

void SendBatch::flush() {
  restore_gso_after_a_while();
  std::fill_n(sent_.begin(), count_, false);
  for (std::size_t i = 0; i < count_; ++i) {
    if (sent_[i]) continue;
    const int fd = slots_[i].fd;
    send_messages(fd, build_messages(fd, i));
  }
  count_ = 0;
}

bool SendBatch::same_run(const Slot& a, const Slot& b) const noexcept {
  return a.size == b.size && a.to_len == b.to_len && std::memcmp(&a.to, &b.to, a.to_len) == 0;
}

// Builds the messages for every queued datagram of `fd`, starting at slot `first`: a run of
// equal-sized datagrams to one destination becomes one message with a UDP_SEGMENT header.
std::size_t SendBatch::build_messages(int fd, std::size_t first) {
  std::size_t messages = 0;
  std::size_t iovs = 0;
  for (std::size_t i = first; i < count_; ++i) {
    if (sent_[i] || slots_[i].fd != fd) continue;
    sent_[i] = true;
    const Slot& s = slots_[i];
    const std::size_t m = messages - 1;
    const bool extend = messages > 0 && gso_ && s.size > 0 && s.size <= gso_max_segment_ &&
                        same_run(slots_[head_[m]], s) && segments_[m] < kMaxSegments &&
                        (segments_[m] + 1u) * s.size <= kMaxGsoBytes;
    iov_[iovs] = {const_cast<std::uint8_t*>(s.data.data()), s.size};
    if (extend) {
      ++segments_[m];
    } else {
      head_[messages] = i;
      first_[messages] = iovs;
      segments_[messages] = 1;
      ++messages;
    }
    ++iovs;
  }
  for (std::size_t m = 0; m < messages; ++m) finish_message(m);
  return messages;
}

void SendBatch::finish_message(std::size_t m) {
  Slot& head = slots_[head_[m]];
  msghdr& h = msgs_[m].msg_hdr;
  h = {};
  h.msg_name = &head.to;
  h.msg_namelen = head.to_len;
  h.msg_iov = &iov_[first_[m]];
  h.msg_iovlen = segments_[m];
  if (segments_[m] < 2) return;
  h.msg_control = control_[m].bytes.data();
  h.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
  const std::uint16_t segment = head.size;
  std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
}

void SendBatch::send_messages(int fd, std::size_t count) {
  std::size_t done = 0;
  bool retried = false;
  while (done < count) {
    ++counters_.system_calls;
    const int n =
        sendmmsg(fd, msgs_.data() + done, static_cast<unsigned>(count - done), MSG_DONTWAIT);
    if (n > 0) {
      for (int i = 0; i < n; ++i) counters_.gso_sends += segments_[done + i] > 1 ? 1 : 0;
      done += static_cast<std::size_t>(n);
      retried = false;
      continue;
    }
    const int error = n < 0 ? errno : EAGAIN;
    if (error == EINTR) continue;
    // An ICMP error queued on the socket (IP_RECVERR) fails the next send once: retry it.
    if (pending_icmp_error(error) && !retried) {
      retried = true;
      continue;
    }
    retried = false;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) return;  // full: drop the rest
    if (segments_[done] > 1 && gso_refusal(error)) refused_run(fd, done, error);
    ++done;  // an unreachable or forbidden destination: drop, as UDP would
  }
}

// EINVAL or EMSGSIZE for a GSO message may mean that the path's MTU is below the segment size,
// EIO that the device cannot segment; the same errors also come from routes that refuse
// everything, which sending the run one datagram at a time tells apart.
bool SendBatch::gso_refusal(int error) noexcept {
  return error == EINVAL || error == EMSGSIZE || error == EIO;
}

void SendBatch::refused_run(int fd, std::size_t m, int error) {
  ++counters_.gso_fallbacks;
  if (!send_one_by_one(fd, m)) return;  // the destination refuses any datagram: not GSO's fault
  if (error == EIO) gso_ = false;
  gso_max_segment_ = std::min<std::size_t>(gso_max_segment_, slots_[head_[m]].size - 1u);
  lowered_at_ = std::chrono::steady_clock::now();
}

bool SendBatch::send_one_by_one(int fd, std::size_t m) {
  msghdr h = msgs_[m].msg_hdr;
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  h.msg_iovlen = 1;
  bool any = false;
  for (std::size_t k = 0; k < segments_[m]; ++k) {
    h.msg_iov = &iov_[first_[m] + k];
    ++counters_.system_calls;
    any = sendmsg(fd, &h, MSG_DONTWAIT) >= 0 || any;
  }
  return any;
}

void SendBatch::restore_gso_after_a_while() {
  if (gso_max_segment_ == kDefaultMaxSegment) return;
  if (std::chrono::steady_clock::now() - lowered_at_ < kGsoRetryAfter) return;
  gso_max_segment_ = kDefaultMaxSegment;  // path MTUs change; try the usual size again
}

}  // namespace tern::net
