// MobilityTickets: issuing and checking RFC 8016 tickets.
#include "tern/auth/mobility_ticket.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "base64.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::auth {

namespace {

// HMAC-SHA256(secret, label): one key per purpose from the one secret.
std::array<std::uint8_t, 32> derive(std::span<const std::uint8_t> secret, std::string_view label) {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(label.data()), label.size(), full.data(), &len);
  std::array<std::uint8_t, 32> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

}  // namespace

MobilityTickets::MobilityTickets(std::span<const std::uint8_t> secret) {
  if (secret.size() < 16) throw std::invalid_argument("ticket secret shorter than 16 bytes");
  mac_key_ = derive(secret, "tern mobility ticket mac");
  enc_key_ = derive(secret, "tern mobility ticket encryption");
}

std::shared_ptr<const MobilityTickets> MobilityTickets::random() {
  std::random_device device;  // getrandom(2) on Linux
  std::array<std::uint8_t, 32> secret{};
  for (auto& b : secret) b = static_cast<std::uint8_t>(device());
  return std::make_shared<const MobilityTickets>(secret);
}

std::array<std::uint8_t, 12> MobilityTickets::mac(
    std::span<const std::uint8_t, 12> body) const noexcept {
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> full{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), mac_key_.data(), static_cast<int>(mac_key_.size()), body.data(), body.size(),
       full.data(), &len);
  std::array<std::uint8_t, 12> out{};
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

bool MobilityTickets::keystream(std::span<const std::uint8_t, 12> tag,
                                std::array<std::uint8_t, 16>& out) const noexcept {
  std::array<std::uint8_t, 16> block{};
  std::copy(tag.begin(), tag.end(), block.begin());
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      EVP_CIPHER_CTX_free);
  int n = 0;
  return ctx &&
         EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ecb(), nullptr, enc_key_.data(), nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(ctx.get(), 0) == 1 &&
         EVP_EncryptUpdate(ctx.get(), out.data(), &n, block.data(), 16) == 1 && n == 16;
}

std::string MobilityTickets::issue(const Ticket& t) const {
  std::array<std::uint8_t, 24> raw{};
  protocol::store_be16(&raw[0], t.worker);
  protocol::store_be32(&raw[2], static_cast<std::uint32_t>(t.session >> 32));
  protocol::store_be32(&raw[6], static_cast<std::uint32_t>(t.session));
  protocol::store_be16(&raw[10], t.serial);
  const auto tag = mac(std::span<const std::uint8_t, 12>(raw.data(), 12));
  std::array<std::uint8_t, 16> ks{};
  if (!keystream(tag, ks)) return {};  // an empty ticket is refused like any broken one
  for (std::size_t i = 0; i < 12; ++i) raw[i] ^= ks[i];
  std::copy(tag.begin(), tag.end(), raw.begin() + 12);
  std::string out;
  out.reserve(kTicketSize);
  encode(kBase64Url, raw, out);
  return out;
}

std::optional<MobilityTickets::Ticket> MobilityTickets::check(
    std::string_view ticket) const noexcept {
  std::array<std::uint8_t, 24> raw{};
  if (ticket.size() != kTicketSize || !decode(kBase64Url, ticket, raw)) return std::nullopt;
  std::array<std::uint8_t, 16> ks{};
  if (!keystream(std::span<const std::uint8_t, 12>(raw.data() + 12, 12), ks)) return std::nullopt;
  for (std::size_t i = 0; i < 12; ++i) raw[i] ^= ks[i];
  const auto tag = mac(std::span<const std::uint8_t, 12>(raw.data(), 12));
  if (!protocol::equal_constant_time(tag, std::span(raw).subspan(12))) return std::nullopt;
  Ticket t;
  t.worker = protocol::load_be16(&raw[0]);
  t.session = std::uint64_t{protocol::load_be32(&raw[2])} << 32 | protocol::load_be32(&raw[6]);
  t.serial = protocol::load_be16(&raw[10]);
  return t;
}

}  // namespace tern::auth
