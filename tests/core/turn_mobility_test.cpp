// RFC 8016 mobility in the core: tickets, Refresh from a new 5-tuple, moves between workers.
#include <gtest/gtest.h>

#include "core/turn_client.hpp"

namespace tern::test {
namespace {

const TransportAddress kPeer = addr("192.0.2.10", 5000);
const auto kTickets = auth::MobilityTickets::random();

HarnessConfig mobile_config(std::uint16_t worker = 0, bool one_per_source = true) {
  HarnessConfig c;
  c.options.mobility = true;
  c.options.worker = worker;
  c.tickets = kTickets;
  if (one_per_source) c.quota = {.per_user = 0, .per_source_ip = 1, .total = 0};
  c.more_users = {{.name = "bob", .password = "builder", .key_hex = {}, .sha256_key_hex = {}}};
  return c;
}

AddAttributes empty_ticket() {
  return [](MessageBuilder& b) { b.add(attr::kMobilityTicket, {}); };
}

AddAttributes ticket(const std::string& value) {
  return [value](MessageBuilder& b) {
    b.add_u32(attr::kLifetime, 600);
    b.add_string(attr::kMobilityTicket, value);
  };
}

// A client that allocated with a ticket request; `ticket` is what it got back.
struct MobileClient {
  MobileClient(Harness& h, core::FiveTuple f) : client(h, f) {
    Reply r = client.login_and_allocate(empty_ticket());
    value = r.text(attr::kMobilityTicket);
  }
  TurnClient client;
  std::string value;
};

// The same user on a new address: it learns a nonce there, then refreshes with the ticket.
Reply move(Harness& h, const std::string& value, const core::FiveTuple& to,
           std::string user = std::string(kUser), std::string password = std::string(kPassword)) {
  TurnClient moved(h, to, user, password);
  moved.challenge();
  return moved.request(Method::kRefresh, ticket(value));
}

TEST(MobilityTest, OffByDefaultIs405) {
  Harness h;
  TurnClient c(h, flow("192.0.2.50", 40000));
  c.challenge();
  EXPECT_EQ(c.allocate(empty_ticket()).error(), 405);
}

TEST(MobilityTest, AllocateHandsOutATicketOnlyWhenAskedWithAnEmptyOne) {
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  EXPECT_EQ(c.value.size(), auth::MobilityTickets::kTicketSize);
  TurnClient plain(h, flow("192.0.2.51", 40000));
  EXPECT_FALSE(plain.login_and_allocate().has(attr::kMobilityTicket));
  TurnClient wrong(h, flow("192.0.2.52", 40000));
  wrong.challenge();
  EXPECT_EQ(
      wrong.allocate([](MessageBuilder& b) { b.add_string(attr::kMobilityTicket, "x"); }).error(),
      400);
  TurnClient tcp(h, flow("192.0.2.53", 40000, core::Transport::kTcp));
  tcp.challenge();
  EXPECT_EQ(tcp.allocate(empty_ticket()).error(), 405);  // a stream has no new address
}

TEST(MobilityTest, RefreshFromANewAddressMovesTheAllocationWithItsChannels) {
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  ASSERT_TRUE(c.client.channel_bind(0x4000, kPeer).success());
  const auto cellular = flow("192.0.2.99", 50000);  // another network, another address
  Reply r = move(h, c.value, cellular);
  ASSERT_TRUE(r.success()) << r.error();
  const std::string next = r.text(attr::kMobilityTicket);
  EXPECT_EQ(next.size(), auth::MobilityTickets::kTicketSize);
  EXPECT_NE(next, c.value);  // §3.2.3: a different ticket
  EXPECT_TRUE(h.server->has_allocation(cellular));
  EXPECT_FALSE(h.server->has_allocation(c.client.five_tuple()));
  // The channel came along: ChannelData from the new address reaches the peer.
  TurnClient moved(h, cellular);
  moved.channel_data(0x4000, bytes("hello"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  EXPECT_EQ(h.out.to_peers[0].peer, kPeer);
  // And the peer's answer goes to the new address.
  auto back = h.from_peer(1, kPeer, bytes("hi"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, cellular);
  // The quota still counts it once, under the address it was made from.
  EXPECT_EQ(h.quota->in_use(), 1u);
  EXPECT_EQ(h.server->stats().allocations_moved.get(), 1u);
}

TEST(MobilityTest, RefusalsOfATicket) {
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  // Another user with valid credentials of their own: 441 (CVE-2026-65981).
  EXPECT_EQ(move(h, c.value, flow("192.0.2.66", 1000), "bob", "builder").error(), 441);
  // A forged or damaged ticket: 400.
  std::string forged = c.value;
  forged[5] = forged[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(move(h, forged, flow("192.0.2.67", 1000)).error(), 400);
  // From the allocation's own address: 400 (§3.2.2).
  EXPECT_EQ(c.client.request(Method::kRefresh, ticket(c.value)).error(), 400);
  // The allocation is gone: 437.
  ASSERT_TRUE(c.client.refresh(0).success());
  EXPECT_EQ(move(h, c.value, flow("192.0.2.68", 1000)).error(), 437);
  EXPECT_EQ(h.quota->in_use(), 0u);
}

TEST(MobilityTest, TheOldAddressKeepsItsDataUntilTheNewOneSendsSome) {
  // RFC 8016 §3.2.2: make before break. After the Refresh from the new address the old one
  // still sends and receives data; the first data from the new address ends that.
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  ASSERT_TRUE(c.client.channel_bind(0x4000, kPeer).success());
  const auto wifi = c.client.five_tuple();
  const auto cellular = flow("192.0.2.99", 50000);
  ASSERT_TRUE(move(h, c.value, cellular).success());
  auto back = h.from_peer(1, kPeer, bytes("to wifi"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, wifi);
  c.client.channel_data(0x4000, bytes("from wifi"));
  ASSERT_EQ(h.out.to_peers.size(), 1u);
  TurnClient moved(h, cellular);
  moved.channel_data(0x4000, bytes("from cellular"));
  ASSERT_EQ(h.out.to_peers.size(), 2u);
  back = h.from_peer(1, kPeer, bytes("to cellular"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, cellular);
  // From now on the old address is nobody's.
  c.client.channel_data(0x4000, bytes("late"));
  EXPECT_EQ(h.out.to_peers.size(), 2u);
  EXPECT_FALSE(h.server->has_allocation(wifi));
}

TEST(MobilityTest, ASignedRequestFromTheNewAddressEndsTheOldOnesPart) {
  // A client that only receives never sends data; its next signed request from the new
  // address (a permission or channel refresh) ends the old address's part all the same.
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  ASSERT_TRUE(c.client.create_permission({kPeer}).success());
  const auto cellular = flow("192.0.2.99", 50000);
  ASSERT_TRUE(move(h, c.value, cellular).success());
  EXPECT_EQ(h.from_peer(1, kPeer, bytes("a"))[0].flow, c.client.five_tuple());
  TurnClient moved(h, cellular);
  moved.challenge();
  ASSERT_TRUE(moved.create_permission({kPeer}).success());
  EXPECT_EQ(h.from_peer(1, kPeer, bytes("b"))[0].flow, cellular);
}

TEST(MobilityTest, ANewAllocationOnTheOldAddressEndsItsPart) {
  // The old 5-tuple is someone else's now: the moved allocation's peers must not reach them.
  Harness h(mobile_config(0, false));
  MobileClient c(h, flow("192.0.2.50", 40000));
  ASSERT_TRUE(c.client.create_permission({kPeer}).success());
  const auto wifi = c.client.five_tuple();
  const auto cellular = flow("192.0.2.99", 50000);
  ASSERT_TRUE(move(h, c.value, cellular).success());
  TurnClient newcomer(h, wifi, "bob", "builder");
  ASSERT_TRUE(newcomer.login_and_allocate().success());
  auto back = h.from_peer(1, kPeer, bytes("for the moved client"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, cellular);
}

TEST(MobilityTest, ManyMovesKeepOneQuotaPlace) {
  // Resume cycles never free or take a quota place while the allocation lives
  // (CVE-2026-73216), whether or not data came from each new address.
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  std::string value = c.value;
  for (std::uint16_t hop = 1; hop <= 10; ++hop) {
    const auto to = flow("192.0.2.99", static_cast<std::uint16_t>(50000 + hop));
    Reply r = move(h, value, to);
    ASSERT_TRUE(r.success()) << hop << ": " << r.error();
    value = r.text(attr::kMobilityTicket);
    if (hop % 2 == 0) TurnClient(h, to).send_indication(kPeer, bytes("x"));
    EXPECT_EQ(h.quota->in_use(), 1u) << hop;
  }
  // The address it was made from cannot take a second place; the allocation's end frees it.
  TurnClient again(h, flow("192.0.2.50", 40001));
  again.challenge();
  EXPECT_EQ(again.allocate().error(), 486);
  TurnClient last(h, flow("192.0.2.99", 50010));
  last.challenge();
  ASSERT_TRUE(last.refresh(0).success());
  EXPECT_EQ(h.quota->in_use(), 0u);
}

TEST(MobilityTest, OldTicketsStayGoodForRetransmissions) {
  Harness h(mobile_config());
  MobileClient c(h, flow("192.0.2.50", 40000));
  ASSERT_TRUE(move(h, c.value, flow("192.0.2.99", 50000)).success());
  // The first ticket once more, from yet another address.
  EXPECT_TRUE(move(h, c.value, flow("192.0.2.98", 50000)).success());
}

// The fetches a core asks the network layer for, recorded.
class RecordingMover final : public core::AllocationMover {
 public:
  void fetch(std::uint16_t worker, std::uint64_t session, std::string username,
             const core::FiveTuple& flow, std::vector<std::uint8_t> request) override {
    calls.push_back({worker, session, std::move(username), flow, std::move(request)});
  }
  void forward(std::uint16_t worker, const core::FiveTuple& flow,
               std::vector<std::uint8_t> bytes) override {
    forwarded.push_back({worker, flow, std::move(bytes)});
  }
  void release_previous(std::uint16_t worker, const core::FiveTuple& flow) override {
    released.emplace_back(worker, flow);
  }
  std::vector<std::pair<std::uint16_t, core::FiveTuple>> released;
  struct Call {
    std::uint16_t worker;
    std::uint64_t session;
    std::string username;
    core::FiveTuple flow;
    std::vector<std::uint8_t> request;
  };
  std::vector<Call> calls;
  struct Forward {
    std::uint16_t worker;
    core::FiveTuple flow;
    std::vector<std::uint8_t> bytes;
  };
  std::vector<Forward> forwarded;
};

// Two workers' cores: worker 1 holds a mobile client's allocation, worker 0 can fetch it.
// (Each has its own quota here, where a process shares one: none is set.)
class TwoWorkers : public ::testing::Test {
 protected:
  TwoWorkers() { zero.server->set_mover(&mover); }
  Harness one{mobile_config(1, false)};
  Harness zero{mobile_config(0, false)};
  RecordingMover mover;
  MobileClient c{one, flow("192.0.2.50", 40000)};
};

TEST_F(TwoWorkers, AnAllocationOfAnotherWorkerIsFetchedThenAnswered) {
  ASSERT_TRUE(c.client.create_permission({kPeer}).success());
  const auto cellular = flow("192.0.2.99", 50000);
  EXPECT_TRUE(move(zero, c.value, cellular).empty());  // answered once it is here
  ASSERT_EQ(mover.calls.size(), 1u);
  const auto& call = mover.calls[0];
  EXPECT_EQ(call.worker, 1u);
  EXPECT_EQ(call.username, kUser);
  // What the network layer does: out of worker 1 (only for its owner), into worker 0.
  bool wrong_owner = false;
  EXPECT_FALSE(one.server->move_out(call.session, "bob", wrong_owner, 0));
  EXPECT_TRUE(wrong_owner);
  auto moving = one.server->move_out(call.session, call.username, wrong_owner, 0);
  ASSERT_TRUE(moving);
  EXPECT_FALSE(wrong_owner);
  EXPECT_EQ(one.server->allocation_count(), 0u);
  auto opened = zero.relays.open(Family::kIPv4, false, false);  // the socket, carried over
  ASSERT_TRUE(opened);
  ASSERT_EQ(core::relay_ids(*moving).size(), 1u);
  zero.server->move_in(std::move(moving), std::vector<core::RelayEndpoint>{*opened});
  const std::size_t before = zero.out.sent.size();
  zero.server->handle_moved(call.flow, call.request, zero.clock.now, zero.out);
  ASSERT_EQ(zero.out.sent.size(), before + 1);
  Reply r{zero.out.sent.back().bytes};
  EXPECT_TRUE(r.success()) << r.error();
  EXPECT_TRUE(zero.server->has_allocation(cellular));
  EXPECT_EQ(zero.server->stats().allocations_moved_in.get(), 1u);
  // The permission came along. The peer's data goes to the old address until the new one
  // sends data (§3.2.2): a Send indication from there.
  auto back = zero.from_peer(opened->id, kPeer, bytes("hi"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, c.client.five_tuple());
  TurnClient moved(zero, cellular);
  moved.send_indication(kPeer, bytes("from cellular"));
  ASSERT_EQ(zero.out.to_peers.size(), 1u);
  back = zero.from_peer(opened->id, kPeer, bytes("hi"));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].flow, cellular);
}

TEST_F(TwoWorkers, DataFromTheOldAddressIsPassedOnToTheNewWorker) {
  ASSERT_TRUE(c.client.channel_bind(0x4000, kPeer).success());
  const auto cellular = flow("192.0.2.99", 50000);
  EXPECT_TRUE(move(zero, c.value, cellular).empty());
  ASSERT_EQ(mover.calls.size(), 1u);
  bool wrong_owner = false;
  auto moving = one.server->move_out(mover.calls[0].session, kUser, wrong_owner, 0);
  ASSERT_TRUE(moving);
  auto opened = zero.relays.open(Family::kIPv4, false, false);
  ASSERT_TRUE(opened);
  zero.server->move_in(std::move(moving), std::vector<core::RelayEndpoint>{*opened});
  zero.server->handle_moved(mover.calls[0].flow, mover.calls[0].request, zero.clock.now, zero.out);
  ASSERT_TRUE(Reply{zero.out.sent.back().bytes}.success());
  // The old address still reaches worker 1, which passes its data on to worker 0.
  one.server->set_mover(&mover);
  c.client.channel_data(0x4000, bytes("from wifi"));
  EXPECT_TRUE(one.out.to_peers.empty());
  ASSERT_EQ(mover.forwarded.size(), 1u);
  EXPECT_EQ(mover.forwarded[0].worker, 0u);
  EXPECT_EQ(mover.forwarded[0].flow, c.client.five_tuple());
  zero.server->handle_forwarded(mover.forwarded[0].flow, mover.forwarded[0].bytes, zero.clock.now,
                                zero.out);
  ASSERT_EQ(zero.out.to_peers.size(), 1u);
  EXPECT_EQ(zero.out.to_peers[0].peer, kPeer);
  // Once the new address sent data, what worker 1 still passes on is dropped there, and
  // nothing goes back (no loop between workers).
  TurnClient moved(zero, cellular);
  moved.channel_data(0x4000, bytes("from cellular"));
  ASSERT_EQ(zero.out.to_peers.size(), 2u);
  zero.server->set_mover(&mover);
  zero.server->handle_forwarded(mover.forwarded[0].flow, mover.forwarded[0].bytes, zero.clock.now,
                                zero.out);
  EXPECT_EQ(zero.out.to_peers.size(), 2u);
  EXPECT_EQ(mover.forwarded.size(), 1u);
  // Worker 1 forgets the old address when the allocation would have expired.
  one.clock.advance(std::chrono::seconds(601));
  zero.clock.advance(std::chrono::seconds(601));
  one.server->sweep(one.clock.now);
  c.client.channel_data(0x4000, bytes("much later"));
  EXPECT_EQ(mover.forwarded.size(), 1u);
}

TEST_F(TwoWorkers, ANewAllocationOnTheOldAddressStopsTheNewWorkerServingIt) {
  ASSERT_TRUE(c.client.create_permission({kPeer}).success());
  const auto wifi = c.client.five_tuple();
  const auto cellular = flow("192.0.2.99", 50000);
  EXPECT_TRUE(move(zero, c.value, cellular).empty());
  bool wrong_owner = false;
  auto moving = one.server->move_out(mover.calls[0].session, kUser, wrong_owner, 0);
  auto opened = zero.relays.open(Family::kIPv4, false, false);
  zero.server->move_in(std::move(moving), std::vector<core::RelayEndpoint>{*opened});
  zero.server->handle_moved(mover.calls[0].flow, mover.calls[0].request, zero.clock.now, zero.out);
  ASSERT_TRUE(Reply{zero.out.sent.back().bytes}.success());
  EXPECT_EQ(zero.from_peer(opened->id, kPeer, bytes("a"))[0].flow, wifi);
  // Someone else allocates from the old address on worker 1: worker 0 is told, and stops.
  one.server->set_mover(&mover);
  TurnClient newcomer(one, wifi, "bob", "builder");
  ASSERT_TRUE(newcomer.login_and_allocate().success());
  ASSERT_EQ(mover.released.size(), 1u);
  EXPECT_EQ(mover.released[0], std::make_pair(std::uint16_t{0}, wifi));
  zero.server->previous_taken(wifi);
  EXPECT_EQ(zero.from_peer(opened->id, kPeer, bytes("b"))[0].flow, cellular);
  // And worker 1 keeps the old address's data for its new owner instead of passing it on.
  newcomer.send_indication(kPeer, bytes("mine"));
  EXPECT_TRUE(mover.forwarded.empty());
}

TEST_F(TwoWorkers, ARetransmissionDuringAFetchIsNotFetchedAgain) {
  TurnClient moved(zero, flow("192.0.2.99", 50000));
  moved.challenge();
  EXPECT_TRUE(moved.request(Method::kRefresh, ticket(c.value)).empty());
  EXPECT_TRUE(moved.send(moved.last_request).empty());
  ASSERT_EQ(mover.calls.size(), 1u);
  bool wrong_owner = false;
  auto moving = one.server->move_out(mover.calls[0].session, kUser, wrong_owner, 0);
  auto opened = zero.relays.open(Family::kIPv4, false, false);
  zero.server->move_in(std::move(moving), std::vector<core::RelayEndpoint>{*opened});
  zero.server->handle_moved(mover.calls[0].flow, mover.calls[0].request, zero.clock.now, zero.out);
  Reply answer{zero.out.sent.back().bytes};
  EXPECT_TRUE(answer.success());
  EXPECT_EQ(moved.send(moved.last_request).bytes, answer.bytes);  // the same answer again
  EXPECT_EQ(mover.calls.size(), 1u);
}

TEST_F(TwoWorkers, AFetchThatFindsNothingIs437) {
  ASSERT_TRUE(c.client.refresh(0).success());
  EXPECT_TRUE(move(zero, c.value, flow("192.0.2.99", 50000)).empty());
  ASSERT_EQ(mover.calls.size(), 1u);
  bool wrong_owner = true;
  EXPECT_FALSE(one.server->move_out(mover.calls[0].session, kUser, wrong_owner, 0));
  EXPECT_FALSE(wrong_owner);
  zero.server->handle_moved(mover.calls[0].flow, mover.calls[0].request, zero.clock.now, zero.out);
  EXPECT_EQ(Reply{zero.out.sent.back().bytes}.error(), 437);
  EXPECT_EQ(mover.calls.size(), 1u);  // no second fetch
}

TEST_F(TwoWorkers, AFetchForAnotherUserIs441AndLeavesTheAllocation) {
  EXPECT_TRUE(move(zero, c.value, flow("192.0.2.66", 1000), "bob", "builder").empty());
  ASSERT_EQ(mover.calls.size(), 1u);
  EXPECT_EQ(mover.calls[0].username, "bob");
  bool wrong_owner = false;
  EXPECT_FALSE(one.server->move_out(mover.calls[0].session, "bob", wrong_owner, 0));
  EXPECT_TRUE(wrong_owner);
  EXPECT_EQ(one.server->allocation_count(), 1u);
  zero.server->handle_moved(mover.calls[0].flow, mover.calls[0].request, zero.clock.now, zero.out,
                            wrong_owner);
  EXPECT_EQ(Reply{zero.out.sent.back().bytes}.error(), 441);
}

}  // namespace
}  // namespace tern::test
