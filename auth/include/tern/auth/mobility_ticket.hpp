// RFC 8016 MOBILITY-TICKET values: which worker holds an allocation, encrypted and
// authenticated.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tern::auth {

// A ticket is base64url(ciphertext 12 bytes || tag 12 bytes), 32 characters. The plaintext is
// worker (2 bytes) || session (8) || serial (2); tag = HMAC-SHA256(mac key, plaintext)
// truncated; ciphertext = plaintext XOR AES-256(encryption key, tag || 0^4) (a synthetic-IV
// construction: the tag is the IV, and a changed byte anywhere fails the tag). Both keys come
// from the secret. A ticket gives nothing away a client could use: forging one needs the
// secret, resuming with one needs the allocation owner's credentials as well, and it shows
// neither worker nor session. The serial makes each ticket a Refresh hands out differ from
// the last (RFC 8016 §3.2.3); older tickets stay good while the allocation lives (at least the
// 30 s §3.2.2 asks).
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
  // The 12 bytes the plaintext is XORed with, from the tag; false if AES failed.
  bool keystream(std::span<const std::uint8_t, 12> tag,
                 std::array<std::uint8_t, 16>& out) const noexcept;
  std::array<std::uint8_t, 32> mac_key_{};
  std::array<std::uint8_t, 32> enc_key_{};
};

}  // namespace tern::auth
