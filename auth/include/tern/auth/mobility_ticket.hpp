// RFC 8016 MOBILITY-TICKET values: which worker holds an allocation, authenticated by HMAC.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tern::auth {

// A ticket is base64url(worker 2 bytes || session 8 bytes || serial 2 bytes || MAC 12 bytes),
// 32 characters, where MAC = HMAC-SHA256(secret, the 12 bytes before it), truncated. It names
// an allocation without giving anything away a client could use: forging one needs the
// secret, and resuming with one needs the allocation owner's credentials as well. The serial
// makes each ticket a Refresh hands out differ from the last (RFC 8016 §3.2.3); older tickets
// stay good while the allocation lives (at least the 30 s §3.2.2 asks).
class MobilityTickets {
 public:
  static constexpr std::size_t kTicketSize = 32;
  struct Ticket {
    std::uint16_t worker = 0;
    std::uint64_t session = 0;
    std::uint16_t serial = 0;
  };
  // Throws std::invalid_argument for a secret shorter than 16 bytes.
  explicit MobilityTickets(std::span<const std::uint8_t> secret);
  // With a fresh random secret: one per process, shared by its workers.
  static std::shared_ptr<const MobilityTickets> random();

  std::string issue(const Ticket& t) const;
  std::optional<Ticket> check(std::string_view ticket) const noexcept;

 private:
  std::array<std::uint8_t, 12> mac(std::span<const std::uint8_t, 12> body) const noexcept;
  std::array<std::uint8_t, 32> secret_{};
};

}  // namespace tern::auth
