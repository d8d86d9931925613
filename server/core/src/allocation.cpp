// Allocation lookups and the per-worker allocation table.
#include "allocation.hpp"

#include <algorithm>
#include <cstring>

namespace tern::core {

namespace {
bool same_ip(const protocol::TransportAddress& a, const protocol::TransportAddress& b) noexcept {
  return a.family == b.family && a.ip == b.ip;
}
}  // namespace

std::size_t FiveTupleHash::operator()(const FiveTuple& f) const noexcept {
  // FNV-1a over the fields that differ between flows.
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  mix(f.client.ip.data(), f.client.ip_size());
  mix(&f.client.port, sizeof f.client.port);
  mix(f.server.ip.data(), f.server.ip_size());
  mix(&f.server.port, sizeof f.server.port);
  mix(&f.transport, sizeof f.transport);
  return static_cast<std::size_t>(h);
}

const RelayEndpoint* Allocation::relay_for(protocol::Family family) const noexcept {
  for (const auto& r : relays) {
    if (r.address.family == family) return &r;
  }
  return nullptr;
}

bool Allocation::has_permission(const protocol::TransportAddress& peer,
                                TimePoint now) const noexcept {
  return std::any_of(permissions.begin(), permissions.end(),
                     [&](const Permission& p) { return p.expires > now && same_ip(p.ip, peer); });
}

void Allocation::grant_permission(protocol::TransportAddress peer, TimePoint until) {
  peer.port = 0;
  auto it = std::find_if(permissions.begin(), permissions.end(),
                         [&](const Permission& p) { return p.ip == peer; });
  if (it == permissions.end()) {
    permissions.push_back({peer, until});
  } else {
    it->expires = until;
  }
}

const ChannelBinding* Allocation::channel_by_number(std::uint16_t number,
                                                    TimePoint now) const noexcept {
  for (const auto& c : channels) {
    if (c.number == number) return c.expires > now ? &c : nullptr;
  }
  return nullptr;
}

const ChannelBinding* Allocation::channel_by_peer(const protocol::TransportAddress& peer,
                                                  TimePoint now) const noexcept {
  // An expired binding of this peer may still be held (5 min) next to a live one on another
  // number (RFC 8656 §12), so look for the live one rather than stop at the first match.
  for (const auto& c : channels) {
    if (c.peer == peer && c.expires > now) return &c;
  }
  return nullptr;
}

Allocation* AllocationTable::find(const FiveTuple& flow) noexcept {
  auto it = by_flow_.find(flow);
  return it == by_flow_.end() ? nullptr : &it->second;
}

const Allocation* AllocationTable::find(const FiveTuple& flow) const noexcept {
  auto it = by_flow_.find(flow);
  return it == by_flow_.end() ? nullptr : &it->second;
}

Allocation* AllocationTable::by_relay(RelayId id) noexcept {
  auto it = by_relay_.find(id);
  if (it == by_relay_.end()) return nullptr;
  return find(it->second);
}

std::optional<AllocationTable::TakenConnect> AllocationTable::take_connect(ConnectionId id) {
  auto indexed = by_connect_.find(id);
  if (indexed == by_connect_.end()) return std::nullopt;
  Allocation* a = find(indexed->second);
  by_connect_.erase(indexed);
  if (a == nullptr) return std::nullopt;
  auto it = std::find_if(a->connects.begin(), a->connects.end(),
                         [&](const Allocation::PendingConnect& c) { return c.id == id; });
  if (it == a->connects.end()) return std::nullopt;  // another allocation of that 5-tuple
  TakenConnect taken{a, *it};
  a->connects.erase(it);
  return taken;
}

Allocation* AllocationTable::find_session(std::uint64_t session) noexcept {
  for (auto& [flow, a] : by_flow_) {
    if (a.session_id == session) return &a;
  }
  return nullptr;
}

Allocation& AllocationTable::rekey(const FiveTuple& from, const FiveTuple& to, bool keep_previous) {
  Allocation a = take(from);
  a.flow = to;
  if (keep_previous) {
    a.previous = from;
    previous_[from] = to;
  }
  return insert(std::move(a));
}

Allocation* AllocationTable::find_previous(const FiveTuple& flow) noexcept {
  if (previous_.empty()) return nullptr;
  auto it = previous_.find(flow);
  return it == previous_.end() ? nullptr : find(it->second);
}

void AllocationTable::forget_previous(Allocation& a) {
  if (!a.previous) return;
  auto it = previous_.find(*a.previous);
  if (it != previous_.end() && it->second == a.flow) previous_.erase(it);
  a.previous.reset();
}

namespace {
// What a sweep must next look at: the allocation's end, the first permission to lapse, a
// channel binding's end, or the end of a lapsed binding's 5 minutes of quarantine.
TimePoint first_deadline(const Allocation& a, TimePoint now) noexcept {
  TimePoint next = a.expires;
  for (const auto& p : a.permissions) next = std::min(next, p.expires);
  for (const auto& c : a.channels) {
    next = std::min(next, c.expires > now ? c.expires : c.expires + ChannelBinding::kQuarantine);
  }
  if (!a.last.bytes.empty()) next = std::min(next, a.last.at + CachedResponse::kKept);
  return next;
}
}  // namespace

void AllocationTable::touch(Allocation& a, TimePoint now) {
  now_ = std::max(now_, now);
  const auto permissions = static_cast<std::uint32_t>(
      std::count_if(a.permissions.begin(), a.permissions.end(),
                    [&](const Permission& p) { return p.expires > now_; }));
  const auto channels = static_cast<std::uint32_t>(
      std::count_if(a.channels.begin(), a.channels.end(),
                    [&](const ChannelBinding& c) { return c.expires > now_; }));
  live_permissions_ = live_permissions_ - a.counted_permissions + permissions;
  live_channels_ = live_channels_ - a.counted_channels + channels;
  a.counted_permissions = permissions;
  a.counted_channels = channels;
  // Never at or before now_: the sweep that revisits it must move on.
  const TimePoint next = std::max(first_deadline(a, now_), now_ + std::chrono::milliseconds(1));
  if (a.queued && a.due->first == next) return;
  if (a.queued) due_.erase(a.due);
  a.due = due_.emplace(next, a.flow);
  a.queued = true;
}

void AllocationTable::revisit(Allocation& a) {
  std::erase_if(a.permissions, [&](const Permission& p) { return p.expires <= now_; });
  std::erase_if(a.channels, [&](const ChannelBinding& c) {
    return c.expires + ChannelBinding::kQuarantine <= now_;
  });
  if (!a.last.bytes.empty() && a.last.at + CachedResponse::kKept <= now_) {
    a.last = CachedResponse{};  // its memory too
  }
  touch(a, now_);
}

void AllocationTable::unlist(Allocation& a) noexcept {
  live_permissions_ -= a.counted_permissions;
  live_channels_ -= a.counted_channels;
  a.counted_permissions = 0;
  a.counted_channels = 0;
  if (a.queued) due_.erase(a.due);
  a.queued = false;
}

void AllocationTable::settle(Allocation& a) {
  forget_previous(a);
}

Allocation AllocationTable::take(const FiveTuple& flow) {
  auto node = by_flow_.extract(flow);
  unlist(node.mapped());
  for (const auto& r : node.mapped().relays) by_relay_.erase(r.id);
  forget_previous(node.mapped());
  return std::move(node.mapped());
}

void AllocationTable::moved_away(const FiveTuple& flow, std::uint16_t worker, TimePoint until) {
  moved_away_[flow] = {worker, until};
}

std::optional<std::uint16_t> AllocationTable::moved_to(const FiveTuple& flow,
                                                       TimePoint now) const noexcept {
  if (moved_away_.empty()) return std::nullopt;
  auto it = moved_away_.find(flow);
  if (it == moved_away_.end() || it->second.until <= now) return std::nullopt;
  return it->second.worker;
}

Allocation& AllocationTable::insert(Allocation a) {
  const FiveTuple flow = a.flow;
  // The 5-tuple is this allocation's now: another one that still served it as its previous
  // (RFC 8016 §3.2.2) stops, and what comes from it is no longer passed to another worker.
  if (Allocation* before = find_previous(flow)) forget_previous(*before);
  moved_away_.erase(flow);
  if (auto old = by_flow_.find(flow); old != by_flow_.end()) unlist(old->second);
  a.counted_permissions = 0;  // counted and queued in another table, if any
  a.counted_channels = 0;
  a.queued = false;
  auto [it, inserted] = by_flow_.insert_or_assign(flow, std::move(a));
  for (const auto& r : it->second.relays) by_relay_[r.id] = flow;
  touch(it->second, now_);
  return it->second;
}

void AllocationTable::erase(const FiveTuple& flow) {
  auto it = by_flow_.find(flow);
  if (it == by_flow_.end()) return;
  unlist(it->second);
  for (const auto& r : it->second.relays) by_relay_.erase(r.id);
  forget_previous(it->second);
  by_flow_.erase(it);
}

}  // namespace tern::core
