// Hub: join/leave bookkeeping, verbatim relaying, per-connection rate limits, error replies.
#include "hub.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>

namespace tern::signaling {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxRoomName = 64;

bool valid_room(const std::string& room) {
  if (room.empty() || room.size() > kMaxRoomName) return false;
  return std::all_of(room.begin(), room.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::string id_text(MemberId id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "m%llu", static_cast<unsigned long long>(id));
  return buf;
}

std::string error_message(const std::string& code, const std::string& message) {
  return json::serialize(json::object{{"type", "error"}, {"code", code}, {"message", message}});
}

MemberId Hub::connect(std::chrono::steady_clock::time_point now) {
  const MemberId id = ++next_;
  members_[id] = Member{{}, 2 * limits_.messages_per_second, now};
  return id;
}

bool Hub::allow(Member& m, std::chrono::steady_clock::time_point now) {
  const double burst = 2 * limits_.messages_per_second;
  const double elapsed = std::chrono::duration<double>(now - m.last).count();
  m.tokens = std::min(burst, m.tokens + std::max(0.0, elapsed) * limits_.messages_per_second);
  m.last = now;
  if (m.tokens < 1) return false;
  m.tokens -= 1;
  return true;
}

std::vector<Outgoing> Hub::to_others(MemberId from, const std::string& text) const {
  std::vector<Outgoing> out;
  const auto& room = members_.at(from).room;
  for (MemberId other : rooms_.at(room)) {
    if (other != from) out.push_back({other, text});
  }
  return out;
}

std::vector<Outgoing> Hub::join(MemberId id, Member& m, const std::string& room) {
  if (!m.room.empty()) return {{id, error_message("already-joined", "already in room " + m.room)}};
  if (!valid_room(room)) {
    return {{id, error_message("bad-room", "room names are 1-64 letters, digits, '-', '_' or '.'")}};
  }
  auto it = rooms_.find(room);
  if (it == rooms_.end() && rooms_.size() >= limits_.max_rooms) {
    return {{id, error_message("too-many-rooms", "the server holds as many rooms as it may")}};
  }
  if (it != rooms_.end() && it->second.size() >= limits_.members_per_room) {
    return {{id, error_message("room-full", "room " + room + " is full")}};
  }
  auto& members = rooms_[room];
  json::array others;
  for (MemberId other : members) others.push_back(json::value(id_text(other)));
  std::vector<Outgoing> out;
  const std::string joined = json::serialize(json::object{{"type", "peer-joined"}, {"id", id_text(id)}});
  for (MemberId other : members) out.push_back({other, joined});
  members.insert(id);
  m.room = room;
  out.push_back({id, json::serialize(json::object{
                         {"type", "joined"}, {"id", id_text(id)}, {"members", std::move(others)}})});
  return out;
}

std::vector<Outgoing> Hub::receive(MemberId from, const std::string& text,
                                   std::chrono::steady_clock::time_point now) {
  auto it = members_.find(from);
  if (it == members_.end()) return {};
  Member& m = it->second;
  if (!allow(m, now)) return {{from, error_message("rate-limited", "slow down")}};
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return {{from, error_message("bad-json", "send one JSON object")}};
  const auto& o = v.as_object();
  const auto* type_value = o.if_contains("type");
  const std::string type = type_value && type_value->is_string() ? std::string(type_value->as_string()) : "";
  if (type == "ping") return {{from, R"({"type":"pong"})"}};
  if (type == "join") {
    const auto* room = o.if_contains("room");
    return join(from, m, room && room->is_string() ? std::string(room->as_string()) : "");
  }
  if (type == "offer" || type == "answer" || type == "candidate" || type == "bye") {
    if (m.room.empty()) return {{from, error_message("not-joined", "join a room first")}};
    return to_others(from, text);  // verbatim
  }
  return {{from, error_message("unknown-type", "unknown message type '" + type + "'")}};
}

std::vector<Outgoing> Hub::disconnect(MemberId member) {
  auto it = members_.find(member);
  if (it == members_.end()) return {};
  std::vector<Outgoing> out;
  if (!it->second.room.empty()) {
    out = to_others(member, json::serialize(json::object{{"type", "bye"}, {"id", id_text(member)}}));
    auto room = rooms_.find(it->second.room);
    room->second.erase(member);
    if (room->second.empty()) rooms_.erase(room);
  }
  members_.erase(it);
  return out;
}

}  // namespace tern::signaling
