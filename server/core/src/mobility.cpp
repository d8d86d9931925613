// RFC 8016 mobility: tickets on Allocate, Refresh from a new 5-tuple, moves between workers.
#include <algorithm>

#include "handlers.hpp"
#include "tern/auth/mobility_ticket.hpp"
#include "tern/protocol/attributes.hpp"

namespace tern::core {

namespace attr = protocol::attr;

struct MovingAllocation {
  Allocation state;
};

void MovingAllocationDeleter::operator()(MovingAllocation* a) const noexcept {
  delete a;
}

std::vector<RelayId> relay_ids(const MovingAllocation& a) {
  std::vector<RelayId> ids;
  for (const auto& r : a.state.relays) ids.push_back(r.id);
  return ids;
}

std::optional<ErrorCode> mobility_refused(const Turn& t, const Request& req) {
  const auto value = req.message.find_value(attr::kMobilityTicket);
  if (!value) return std::nullopt;
  if (!value->empty()) return ErrorCode::kBadRequest;  // §3.1: the client asks with an empty one
  // Tickets follow a client whose datagrams come from a new address; a stream is one
  // connection, and a TCP allocation ends with it.
  if (!t.options.mobility || !t.deps.tickets || is_stream(req.flow.transport)) {
    return ErrorCode::kMobilityForbidden;
  }
  return std::nullopt;
}

std::string next_ticket(const Turn& t, Allocation& a) {
  return t.deps.tickets->issue({t.options.worker, a.session_id, ++a.ticket_serial});
}

Reply mobility_refresh(Turn& t, const Request& req, const SessionKey& key) {
  const auto error = [&](ErrorCode code) {
    return error_response(req, t.options, code, t.buf, {}, &key);
  };
  if (!t.options.mobility || !t.deps.tickets) return error(ErrorCode::kMobilityForbidden);
  const auto value = req.message.find_value(attr::kMobilityTicket);
  const auto ticket = t.deps.tickets->check(
      std::string_view(reinterpret_cast<const char*>(value->data()), value->size()));
  if (!ticket || is_stream(req.flow.transport)) return error(ErrorCode::kBadRequest);
  Allocation* a = t.allocations.find_session(ticket->session);
  if (a == nullptr && t.may_fetch && ticket->worker != t.options.worker && t.deps.mover) {
    // A client retransmits while the fetch is under way: the answer to the first one will do.
    if (std::find(t.fetching.begin(), t.fetching.end(), req.flow) != t.fetching.end()) return {};
    t.fetching.push_back(req.flow);
    const auto bytes = req.message.bytes();
    t.deps.mover->fetch(ticket->worker, ticket->session, key.owner(), req.flow,
                        {bytes.begin(), bytes.end()});
    return {};  // answered on this worker once the allocation is here (or is not to be had)
  }
  if (a == nullptr && t.fetched_wrong_owner) return error(ErrorCode::kWrongCredentials);
  if (a == nullptr || !a->mobile) return error(ErrorCode::kAllocationMismatch);
  // The owner's credentials, not just any valid ones (CVE-2026-65981 was resuming as oneself).
  if (a->key.owner() != key.owner()) return error(ErrorCode::kWrongCredentials);
  const FiveTuple old = a->flow;
  const std::size_t family = a->relays[0].address.family == protocol::Family::kIPv4 ? 0 : 1;
  t.stats.allocations_active[static_cast<std::size_t>(old.transport)][family].add(-1);
  t.stats.allocations_active[static_cast<std::size_t>(req.flow.transport)][family].add(1);
  // §3.2.2: the old 5-tuple keeps sending and receiving data until the new one sends some.
  // A DTLS session that stayed on another worker cannot: such a client switches at once.
  const bool arrived = !t.may_fetch;
  const bool keep_previous = !(arrived && old.transport == Transport::kDtls);
  claim_flow(t, req.flow, req.now.steady);
  Allocation& moved = t.allocations.rekey(old, req.flow, keep_previous);
  t.stats.allocations_moved.add();
  report(t, AllocationEvent::kMoved, moved, std::chrono::seconds(0), arrived ? nullptr : &old);
  return handle_refresh(t, req, key, moved, true);
}

MovedAllocation Server::move_out(std::uint64_t session, std::string_view owner, bool& wrong_owner,
                                 std::uint16_t to_worker) {
  Allocation* a = allocations_->find_session(session);
  wrong_owner = a != nullptr && a->mobile && a->key.owner() != owner;
  if (a == nullptr || !a->mobile || wrong_owner) return nullptr;
  // Data the client still sends from its old 5-tuple reaches this worker: pass it on.
  allocations_->moved_away(a->flow, to_worker, a->expires);
  report(turn(), AllocationEvent::kMovedAway, *a);
  const std::size_t family = a->relays[0].address.family == protocol::Family::kIPv4 ? 0 : 1;
  stats_.allocations_active[static_cast<std::size_t>(a->flow.transport)][family].add(-1);
  return MovedAllocation(new MovingAllocation{allocations_->take(a->flow)});
}

void Server::move_in(MovedAllocation m, std::span<const RelayEndpoint> relays) {
  if (!m || relays.size() != m->state.relays.size()) return;
  Allocation a = std::move(m->state);
  for (std::size_t i = 0; i < relays.size(); ++i) a.relays[i].id = relays[i].id;
  if (allocations_->find(a.flow) != nullptr) {  // cannot be: that 5-tuple is another's here
    Turn t = turn();
    stats_
        .allocations_active[static_cast<std::size_t>(a.flow.transport)]
                           [a.relays[0].address.family == protocol::Family::kIPv4 ? 0 : 1]
        .add(1);  // release_allocation takes it off again
    release_allocation(t, a);
    return;
  }
  const std::size_t family = a.relays[0].address.family == protocol::Family::kIPv4 ? 0 : 1;
  stats_.allocations_active[static_cast<std::size_t>(a.flow.transport)][family].add(1);
  stats_.allocations_moved_in.add();
  allocations_->insert(std::move(a));
}

void Server::handle_forwarded(const FiveTuple& flow, std::span<const std::uint8_t> bytes,
                              Instant now, Outbox& out) {
  may_forward_ = false;  // never back again: what is not here any more is dropped
  handle(flow, bytes, now, out);
  may_forward_ = true;
}

void Server::previous_taken(const FiveTuple& flow) {
  if (Allocation* a = allocations_->find_previous(flow)) allocations_->settle(*a);
}

void claim_flow(Turn& t, const FiveTuple& flow, TimePoint now) {
  const auto worker = t.allocations.moved_to(flow, now);
  if (worker && t.deps.mover) t.deps.mover->release_previous(*worker, flow);
}

bool Server::forward_moved(const FiveTuple& flow, std::span<const std::uint8_t> bytes,
                           TimePoint now) {
  if (!may_forward_ || deps_.mover == nullptr) return false;
  const auto worker = allocations_->moved_to(flow, now);
  if (!worker) return false;
  deps_.mover->forward(*worker, flow, {bytes.begin(), bytes.end()});
  return true;
}

void Server::handle_moved(const FiveTuple& flow, std::span<const std::uint8_t> request, Instant now,
                          Outbox& out, bool wrong_owner) {
  std::erase(fetching_, flow);
  may_fetch_ = false;
  fetched_wrong_owner_ = wrong_owner;
  handle(flow, request, now, out);
  may_fetch_ = true;
  fetched_wrong_owner_ = false;
}

}  // namespace tern::core
