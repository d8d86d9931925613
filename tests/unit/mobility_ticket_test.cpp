// MobilityTickets: what a ticket carries, and that a changed or foreign one is refused.
#include "tern/auth/mobility_ticket.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace tern::auth {
namespace {

const std::array<std::uint8_t, 32> kSecret = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                              23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

TEST(MobilityTicketTest, RoundTripsItsFieldsInPrintableText) {
  MobilityTickets tickets(kSecret);
  const std::string t = tickets.issue({7, 0x0123456789ABCDEFull, 513});
  EXPECT_EQ(t.size(), MobilityTickets::kTicketSize);
  for (char c : t) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  auto back = tickets.check(t);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->worker, 7);
  EXPECT_EQ(back->session, 0x0123456789ABCDEFull);
  EXPECT_EQ(back->serial, 513);
}

TEST(MobilityTicketTest, EverySerialGivesAnotherTicket) {
  MobilityTickets tickets(kSecret);
  std::set<std::string> seen;
  for (std::uint16_t serial = 1; serial <= 100; ++serial)
    seen.insert(tickets.issue({0, 42, serial}));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(MobilityTicketTest, TicketsShowNeitherWorkerNorSession) {
  // The fields are encrypted: tickets for one allocation share no leading text, as they would
  // if worker and session stood in the clear before a serial.
  MobilityTickets tickets(kSecret);
  std::set<std::string> heads;
  for (std::uint16_t serial = 1; serial <= 50; ++serial)
    heads.insert(tickets.issue({3, 0x1111111111111111ull, serial}).substr(0, 8));
  EXPECT_EQ(heads.size(), 50u);
  // The same fields under another secret give another ticket.
  std::array<std::uint8_t, 32> other = kSecret;
  other[0] ^= 1;
  EXPECT_NE(MobilityTickets(other).issue({3, 42, 1}), tickets.issue({3, 42, 1}));
}

TEST(MobilityTicketTest, ChangedForeignOrMalformedTicketsAreRefused) {
  MobilityTickets tickets(kSecret);
  const std::string t = tickets.issue({1, 99, 1});
  for (std::size_t i = 0; i < t.size(); ++i) {
    std::string changed = t;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(tickets.check(changed)) << i;
  }
  EXPECT_FALSE(MobilityTickets::random()->check(t));  // another process's secret
  EXPECT_FALSE(tickets.check(""));
  EXPECT_FALSE(tickets.check(t.substr(1)));
  EXPECT_FALSE(tickets.check(t + "AAAA"));
  EXPECT_FALSE(tickets.check(std::string(32, '*')));
  EXPECT_THROW(MobilityTickets(std::span(kSecret).first(8)), std::invalid_argument);
}

}  // namespace
}  // namespace tern::auth
