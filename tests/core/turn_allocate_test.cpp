// TURN Allocate in the core (RFC 8656 §7.2): addresses, lifetimes, families, tokens, quotas.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

std::vector<std::uint8_t> token_bytes(std::uint64_t token) {
  std::vector<std::uint8_t> out(8);
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(token >> (56 - 8 * i));
  return out;
}

AddAttributes lifetime(std::uint32_t seconds) {
  return [seconds](MessageBuilder& b) { b.add_u32(attr::kLifetime, seconds); };
}
AddAttributes family(std::uint16_t type, Family f) {
  return [type, f](MessageBuilder& b) { b.add_address_family(type, f); };
}

TEST(AllocateTest, SuccessCarriesRelayedAndMappedAddressAndDefaultLifetime) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.login_and_allocate();
  EXPECT_EQ(r.type(), 0x0103);
  EXPECT_EQ(r.addresses(attr::kXorRelayedAddress),
            std::vector<TransportAddress>{FakeRelays::v4_ip(FakeRelays::kFirstPort)});
  EXPECT_EQ(r.address(attr::kXorMappedAddress), c.five_tuple().client);
  EXPECT_EQ(r.lifetime(), 600u);
  EXPECT_FALSE(r.has(attr::kReservationToken));
  EXPECT_FALSE(r.has(attr::kAddressErrorCode));
  ASSERT_TRUE(r.has(attr::kMessageIntegrity));
  EXPECT_TRUE(c.verified(r));
  EXPECT_TRUE(h.server->has_allocation(c.five_tuple()));
  EXPECT_EQ(h.quota->in_use(), 1u);
  EXPECT_EQ(h.server->stats().allocations_created(), 1u);
}

TEST(AllocateTest, LifetimeIsClampedBetweenDefaultAndMaximum) {
  Harness h;
  TurnClient shorter(h, flow("192.0.2.50", 40000));
  EXPECT_EQ(shorter.login_and_allocate(lifetime(30)).lifetime(), 600u);
  TurnClient longer(h, flow("192.0.2.50", 40001));
  EXPECT_EQ(longer.login_and_allocate(lifetime(99999)).lifetime(), 3600u);
  TurnClient between(h, flow("192.0.2.50", 40002));
  EXPECT_EQ(between.login_and_allocate(lifetime(1200)).lifetime(), 1200u);
  // The granted lifetime is the one enforced: the 3600 s allocation outlives the 600 s one.
  h.clock.advance(1201s);
  h.sweep();
  EXPECT_FALSE(h.server->has_allocation(shorter.five_tuple()));
  EXPECT_FALSE(h.server->has_allocation(between.five_tuple()));
  EXPECT_TRUE(h.server->has_allocation(longer.five_tuple()));
}

TEST(AllocateTest, AMaximumBelowTheDefaultBoundsAllocationsWithoutLifetime) {
  HarnessConfig config;
  config.options.max_lifetime = 90s;
  Harness h(config);
  TurnClient plain(h, flow("192.0.2.50", 40000));
  EXPECT_EQ(plain.login_and_allocate().lifetime(), 90u);  // no LIFETIME: default, capped
  TurnClient asked(h, flow("192.0.2.50", 40001));
  EXPECT_EQ(asked.login_and_allocate(lifetime(600)).lifetime(), 90u);
  h.clock.advance(91s);
  h.sweep();
  EXPECT_FALSE(h.server->has_allocation(plain.five_tuple()));
  EXPECT_FALSE(h.server->has_allocation(asked.five_tuple()));
}

TEST(AllocateTest, RetransmissionGetsTheSameBytesAndANewTransactionGets437) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply first = c.login_and_allocate();
  const auto tid = c.last_tid;
  const auto request = c.last_request;
  h.clock.advance(2s);
  Reply again = c.send(request);
  EXPECT_EQ(again.bytes, first.bytes);
  EXPECT_EQ(h.relays.open_calls, 1u);
  EXPECT_EQ(h.quota->in_use(), 1u);

  Reply other = c.allocate();
  EXPECT_NE(c.last_tid, tid);
  EXPECT_EQ(other.error(), 437);
  EXPECT_TRUE(c.verified(other));
  EXPECT_EQ(h.relays.open_calls, 1u);
  EXPECT_EQ(h.server->allocation_count(), 1u);
}

TEST(AllocateTest, RequestedTransportMissingIs400AndTcpIs442) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply missing = c.request(Method::kAllocate);
  EXPECT_EQ(missing.error(), 400);
  EXPECT_TRUE(c.verified(missing));
  Reply tcp = c.request(Method::kAllocate, [](MessageBuilder& b) {
    b.add_requested_transport(protocol::kProtocolTcp);
  });
  EXPECT_EQ(tcp.error(), 442);
  EXPECT_EQ(h.relays.open_calls, 0u);
  EXPECT_EQ(h.quota->in_use(), 0u);
  EXPECT_TRUE(c.allocate().success());
}

TEST(AllocateTest, RequestedIpv6WithoutIpv6RelaysIs440) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.allocate(family(attr::kRequestedAddressFamily, Family::kIPv6));
  EXPECT_EQ(r.error(), 440);
  EXPECT_EQ(h.quota->in_use(), 0u);
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(AllocateTest, RequestedIpv6WithIpv6RelaysGetsAnIpv6Address) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.login_and_allocate(family(attr::kRequestedAddressFamily, Family::kIPv6));
  EXPECT_EQ(r.addresses(attr::kXorRelayedAddress),
            std::vector<TransportAddress>{FakeRelays::v6_ip(FakeRelays::kFirstPort)});
  EXPECT_EQ(r.address(attr::kXorMappedAddress), c.five_tuple().client);
}

TEST(AllocateTest, AdditionalIpv6GivesTwoRelayedAddresses) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.login_and_allocate(family(attr::kAdditionalAddressFamily, Family::kIPv6));
  auto relayed = r.addresses(attr::kXorRelayedAddress);
  ASSERT_EQ(relayed.size(), 2u);
  EXPECT_EQ(relayed[0].family, Family::kIPv4);
  EXPECT_EQ(relayed[1].family, Family::kIPv6);
  EXPECT_FALSE(r.has(attr::kAddressErrorCode));
  EXPECT_EQ(h.relays.open_count(), 2u);
}

TEST(AllocateTest, AdditionalIpv6WithoutIpv6GivesOneAddressAndAddressError440) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  Reply r = c.login_and_allocate(family(attr::kAdditionalAddressFamily, Family::kIPv6));
  auto relayed = r.addresses(attr::kXorRelayedAddress);
  ASSERT_EQ(relayed.size(), 1u);
  EXPECT_EQ(relayed[0].family, Family::kIPv4);
  auto raw = r.raw(attr::kAddressErrorCode);
  auto e = protocol::decode_address_error_code(raw);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->family, Family::kIPv6);
  EXPECT_EQ(e->code, 440);
}

TEST(AllocateTest, AdditionalFamilyIpv4OrWithRequestedFamilyIs400) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  EXPECT_EQ(c.allocate(family(attr::kAdditionalAddressFamily, Family::kIPv4)).error(), 400);
  Reply both = c.allocate([](MessageBuilder& b) {
    b.add_address_family(attr::kRequestedAddressFamily, Family::kIPv4);
    b.add_address_family(attr::kAdditionalAddressFamily, Family::kIPv6);
  });
  EXPECT_EQ(both.error(), 400);
  EXPECT_EQ(h.relays.open_calls, 0u);
  EXPECT_EQ(h.quota->in_use(), 0u);
}

TEST(AllocateTest, EvenPortGivesAnEvenPort) {
  Harness h;
  TurnClient first(h, flow("192.0.2.50", 40000));
  first.login_and_allocate();  // takes 50000, so the next free port is odd
  TurnClient c(h, flow("192.0.2.50", 40001));
  Reply r = c.login_and_allocate([](MessageBuilder& b) { b.add_even_port(false); });
  auto relayed = r.address(attr::kXorRelayedAddress);
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->port % 2, 0);
  EXPECT_FALSE(r.has(attr::kReservationToken));
}

TEST(AllocateTest, ReservationTokenWithEvenPortIs400) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.allocate([](MessageBuilder& b) {
    b.add_even_port(false);
    b.add(attr::kReservationToken, token_bytes(FakeRelays::kTokenBase + 1));
  });
  EXPECT_EQ(r.error(), 400);
  EXPECT_TRUE(h.relays.tokens_asked.empty());
  EXPECT_EQ(h.quota->in_use(), 0u);
}

TEST(AllocateTest, EvenPortReserveHandsTheNextPortToATokenHolder) {
  Harness h;
  TurnClient a(h, flow("192.0.2.50", 40000));
  Reply ra = a.login_and_allocate([](MessageBuilder& b) { b.add_even_port(true); });
  auto relayed_a = ra.address(attr::kXorRelayedAddress);
  ASSERT_TRUE(relayed_a);
  EXPECT_EQ(relayed_a->port % 2, 0);
  const auto token = ra.raw(attr::kReservationToken);
  ASSERT_EQ(h.relays.tokens_issued, 1u);
  EXPECT_EQ(token, token_bytes(FakeRelays::kTokenBase + 1));  // big-endian on the wire

  TurnClient b(h, flow("192.0.2.60", 41000));
  Reply rb =
      b.login_and_allocate([&](MessageBuilder& m) { m.add(attr::kReservationToken, token); });
  ASSERT_EQ(h.relays.tokens_asked.size(), 1u);
  EXPECT_EQ(h.relays.tokens_asked[0], FakeRelays::kTokenBase + 1);
  auto relayed_b = rb.address(attr::kXorRelayedAddress);
  ASSERT_TRUE(relayed_b);
  EXPECT_EQ(relayed_b->ip, relayed_a->ip);
  EXPECT_EQ(relayed_b->port, relayed_a->port + 1);
  EXPECT_FALSE(rb.has(attr::kReservationToken));
}

TEST(AllocateTest, UnknownReservationTokenIs508AndReleasesQuota) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.allocate(
      [](MessageBuilder& b) { b.add(attr::kReservationToken, token_bytes(0xDEADBEEF)); });
  EXPECT_EQ(r.error(), 508);
  EXPECT_EQ(h.relays.tokens_asked, std::vector<std::uint64_t>{0xDEADBEEF});
  EXPECT_EQ(h.quota->in_use(), 0u);
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

TEST(AllocateTest, PerUserQuotaGives486UntilTheFirstAllocationIsGone) {
  Harness h({.quota = {.per_user = 1}});
  TurnClient first(h, flow("192.0.2.50", 40000));
  first.login_and_allocate();
  TurnClient second(h, flow("192.0.2.50", 40001));
  second.challenge();
  Reply over = second.allocate();
  EXPECT_EQ(over.error(), 486);
  EXPECT_TRUE(second.verified(over));
  EXPECT_EQ(h.relays.open_calls, 1u);
  // A REST credential minted for the same user counts against the same quota...
  TurnClient rest(h, flow("192.0.2.51", 40000), rest_user(), rest_pass());
  rest.challenge();
  EXPECT_EQ(rest.allocate().error(), 486);
  // ...and another user is not affected.
  const std::string bob = "1700086400:bob";
  TurnClient other(h, flow("192.0.2.52", 40000), bob, auth::rest_password(kRestSecret, bob));
  EXPECT_TRUE(other.login_and_allocate().success());

  EXPECT_TRUE(first.refresh(0).success());
  EXPECT_TRUE(second.allocate().success());
}

TEST(AllocateTest, PerSourceIpQuotaCountsAddressesNotPortsOrUsers) {
  Harness h({.quota = {.per_source_ip = 2}});
  TurnClient a(h, flow("192.0.2.50", 40000));
  TurnClient b(h, flow("192.0.2.50", 40001), rest_user(), rest_pass());
  EXPECT_TRUE(a.login_and_allocate().success());
  EXPECT_TRUE(b.login_and_allocate().success());
  // A third allocation from the same address is refused, whoever asks and from which port...
  const std::string bob = "1700086400:bob";
  TurnClient c(h, flow("192.0.2.50", 40002), bob, auth::rest_password(kRestSecret, bob));
  c.challenge();
  Reply over = c.allocate();
  EXPECT_EQ(over.error(), 486);
  EXPECT_TRUE(c.verified(over));
  // ...another address is not affected...
  TurnClient d(h, flow("192.0.2.51", 40000), bob, auth::rest_password(kRestSecret, bob));
  EXPECT_TRUE(d.login_and_allocate().success());
  // ...and the address gets its budget back when an allocation ends.
  EXPECT_TRUE(a.refresh(0).success());
  EXPECT_TRUE(c.allocate().success());
  EXPECT_EQ(h.quota->in_use(), 3u);
}

TEST(AllocateTest, QuotaDefaultsServeManyAllocationsUnderOneRestName) {
  // The config's defaults: no per-user limit, so one REST name shared by many (a demo page, an
  // app minting one name per room) is not cut off at a handful of allocations.
  Harness h({.quota = {.per_user = 0, .per_source_ip = 1000, .total = 0}});
  std::vector<std::unique_ptr<TurnClient>> clients;
  for (std::uint16_t i = 0; i < 50; ++i) {
    clients.push_back(std::make_unique<TurnClient>(
        h, flow("192.0.2." + std::to_string(60 + i % 5), static_cast<std::uint16_t>(41000 + i)),
        rest_user(), rest_pass()));
    EXPECT_TRUE(clients.back()->login_and_allocate().success()) << "allocation " << i;
  }
  EXPECT_EQ(h.server->allocation_count(), 50u);
}

TEST(AllocateTest, NoRelayPortIs508AndReleasesQuota) {
  Harness h;
  h.relays.fail = true;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  Reply r = c.allocate();
  EXPECT_EQ(r.error(), 508);
  EXPECT_TRUE(c.verified(r));
  EXPECT_EQ(h.quota->in_use(), 0u);
  EXPECT_EQ(h.server->allocation_count(), 0u);
  h.relays.fail = false;
  EXPECT_TRUE(c.allocate().success());
  EXPECT_EQ(h.quota->in_use(), 1u);
}

TEST(AllocateTest, UnknownComprehensionRequiredAttributeIs420) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const std::uint8_t v[4] = {1, 2, 3, 4};
  Reply r = c.allocate([&](MessageBuilder& b) {
    b.add(0x7FF0, v);
    b.add(0xC0DE, v);  // comprehension-optional: ignored
  });
  EXPECT_EQ(r.error(), 420);
  auto unknown = protocol::decode_unknown_attributes(r.raw(attr::kUnknownAttributes));
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->count, 1u);
  EXPECT_EQ(unknown->types[0], 0x7FF0);
  EXPECT_TRUE(r.has(attr::kMessageIntegrity));
  EXPECT_TRUE(c.verified(r));
  EXPECT_EQ(h.server->allocation_count(), 0u);
  EXPECT_EQ(h.quota->in_use(), 0u);
}

TEST(AllocateTest, DontFragmentIs420UnlessTheRelayCanSetIt) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  const AddAttributes df = [](MessageBuilder& b) { b.add(attr::kDontFragment, {}); };
  Reply r = c.allocate(df);
  EXPECT_EQ(r.error(), 420);
  auto unknown = protocol::decode_unknown_attributes(r.raw(attr::kUnknownAttributes));
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->count, 1u);
  EXPECT_EQ(unknown->types[0], attr::kDontFragment);
  EXPECT_EQ(h.relays.open_count(), 0u);  // the relay it opened is closed again
  EXPECT_EQ(h.quota->in_use(), 0u);
  EXPECT_EQ(h.server->allocation_count(), 0u);

  h.relays.dont_fragment = true;
  Reply ok = c.allocate(df);
  ASSERT_TRUE(ok.success()) << ok.error();
  EXPECT_EQ(h.relays.dont_fragment_set.size(), 1u);
}

TEST(AllocateTest, FingerprintAndSoftwareWhenAsked) {
  core::ServerOptions options = default_options();
  options.software = "tern-test";
  Harness h({.options = options});
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  std::vector<std::uint8_t> buf(1024);
  MessageBuilder b(buf, protocol::message_type(Method::kAllocate, MessageClass::kRequest),
                   c.next_tid());
  b.add_requested_transport(protocol::kProtocolUdp);
  b.add_string(attr::kUsername, kUser);
  b.add_string(attr::kRealm, kRealm);
  b.add_string(attr::kNonce, c.nonce());
  b.add_message_integrity(c.key());
  b.add_fingerprint();
  auto done = b.finish();
  ASSERT_TRUE(done);
  Reply r = c.send(*done);
  ASSERT_TRUE(r.success()) << r.error();
  EXPECT_EQ(r.text(attr::kSoftware), "tern-test");
  EXPECT_TRUE(c.verified(r));
  EXPECT_EQ(protocol::check_fingerprint(*r.view()), protocol::Check::kValid);
  EXPECT_EQ(r.attribute_types().back(), attr::kFingerprint);
}

}  // namespace
}  // namespace tern::test

namespace tern::test {
namespace {

TEST(RefreshDualTest, DeletingOneFamilyKeepsTheOther) {
  Harness h({.ipv6 = true});
  TurnClient c(h, flow("192.0.2.50", 40001));
  ASSERT_TRUE(
      c.login_and_allocate(family(attr::kAdditionalAddressFamily, Family::kIPv6)).success());
  ASSERT_TRUE(c.create_permission({addr("192.0.2.99", 1)}).success());
  Reply r = c.request(Method::kRefresh, [](MessageBuilder& b) {
    b.add_address_family(attr::kRequestedAddressFamily, Family::kIPv6);
    b.add_u32(attr::kLifetime, 0);
  });
  EXPECT_TRUE(r.success());
  EXPECT_EQ(h.relays.closed.size(), 1u);
  EXPECT_EQ(h.server->allocation_count(), 1u);
  // IPv6 is gone (443), IPv4 and its permission live on.
  Reply again = c.request(Method::kRefresh, [](MessageBuilder& b) {
    b.add_address_family(attr::kRequestedAddressFamily, Family::kIPv6);
  });
  EXPECT_EQ(again.error(), 443);
  EXPECT_TRUE(c.create_permission({addr("192.0.2.99", 1)}).success());
  EXPECT_TRUE(c.refresh(0).success());
  EXPECT_EQ(h.server->allocation_count(), 0u);
}

}  // namespace
}  // namespace tern::test
