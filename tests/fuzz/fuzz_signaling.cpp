// libFuzzer target: the signaling hub with state. Sequences of connects, messages (raw text and
// well-formed joins, offers, candidates, byes), disconnects and clock steps; after every step the
// replies must go to live members, parse as JSON objects, and respect the rooms' limits.
#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "signaling/hub.hpp"

namespace {

using tern::signaling::Hub;
using tern::signaling::HubLimits;
using tern::signaling::MemberId;
using tern::signaling::Outgoing;
using Clock = std::chrono::steady_clock;

constexpr HubLimits kLimits{.members_per_room = 2, .messages_per_second = 5, .max_rooms = 3};
constexpr std::size_t kMaxMembers = 8;
const char* const kRooms[] = {"a", "b", "c", "d", "room-1", "x.y_z"};

[[noreturn]] void fail() {
  __builtin_trap();
}

struct Input {
  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos = 0;
  bool done() const { return pos >= size; }
  std::uint8_t byte() { return pos < size ? data[pos++] : 0; }
  std::string text(std::size_t n) {
    n = std::min(n, size - pos);
    std::string s(reinterpret_cast<const char*>(data + pos), n);
    pos += n;
    return s;
  }
};

// What the hub must agree with: who is connected, and which room each joined member is in.
struct Model {
  Hub hub{kLimits};
  Clock::time_point now{};
  std::vector<MemberId> live;
  std::map<MemberId, std::string> room_of;

  void check(MemberId from, const std::vector<Outgoing>& out, bool relayed) {
    for (const auto& o : out) {
      if (std::find(live.begin(), live.end(), o.to) == live.end()) fail();
      boost::system::error_code ec;
      const auto v = boost::json::parse(o.text, ec);
      if (ec || !v.is_object()) fail();
      // Relayed messages stay inside the sender's room and never come back to the sender.
      if (relayed && o.to != from) {
        auto a = room_of.find(from), b = room_of.find(o.to);
        if (a == room_of.end() || b == room_of.end() || a->second != b->second) fail();
      }
    }
    std::map<std::string, std::size_t> sizes;
    for (const auto& [id, room] : room_of) ++sizes[room];
    if (sizes.size() != hub.rooms() || hub.rooms() > kLimits.max_rooms) fail();
    for (const auto& [room, n] : sizes) {
      if (n > kLimits.members_per_room) fail();
    }
    if (hub.members() != live.size()) fail();
  }

  void receive(MemberId from, const std::string& text, const std::string& room_asked) {
    auto out = hub.receive(from, text, now);
    for (const auto& o : out) {
      if (o.to == from && o.text.find("\"type\":\"joined\"") != std::string::npos) {
        if (room_asked.empty() || room_of.count(from)) fail();  // joined without asking
        room_of[from] = room_asked;
      }
    }
    check(from, out, true);
  }
};

std::string message(std::uint8_t kind, std::uint8_t arg) {
  const std::string room = kRooms[arg % std::size(kRooms)];
  switch (kind % 8) {
    case 0:
      return R"({"type":"join","room":")" + room + "\"}";
    case 1:
      return R"({"type":"offer","sdp":"v=0\r\n"})";
    case 2:
      return R"({"type":"answer","sdp":"v=0\r\n"})";
    case 3:
      return R"({"type":"candidate","candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host"})";
    case 4:
      return R"({"type":"bye"})";
    case 5:
      return R"({"type":"ping"})";
    case 6:
      return R"({"type":"join","room":)" + std::to_string(arg) + "}";
    default:
      return std::string(arg % 40, '[');  // nesting the parser must refuse or bound
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in{data, size};
  Model m;
  for (int step = 0; step < 256 && !in.done(); ++step) {
    const std::uint8_t op = in.byte();
    const std::uint8_t who = in.byte();
    MemberId member = m.live.empty() ? 0 : m.live[who % m.live.size()];
    switch (op % 5) {
      case 0:
        if (m.live.size() < kMaxMembers) m.live.push_back(m.hub.connect(m.now));
        m.check(0, {}, false);
        break;
      case 1: {  // raw text: whatever the bytes say, up to 255 of them
        const std::string text = in.text(in.byte());
        std::string asked;
        boost::system::error_code ec;
        const auto v = boost::json::parse(text, ec);
        if (!ec && v.is_object()) {
          const auto* r = v.as_object().if_contains("room");
          if (r && r->is_string()) asked = std::string(r->as_string());
        }
        if (member != 0) m.receive(member, text, asked);
        break;
      }
      case 2: {
        const std::uint8_t kind = in.byte(), arg = in.byte();
        const std::string room = kind % 8 == 0 ? kRooms[arg % std::size(kRooms)] : "";
        if (member != 0) m.receive(member, message(kind, arg), room);
        break;
      }
      case 3:
        if (member != 0) {
          std::erase(m.live, member);
          const auto out = m.hub.disconnect(member);
          const auto it = m.room_of.find(member);
          const std::string room = it == m.room_of.end() ? "" : it->second;
          m.room_of.erase(member);
          for (const auto& o : out) {  // byes go to the room it was in, nowhere else
            const auto to = m.room_of.find(o.to);
            if (room.empty() || to == m.room_of.end() || to->second != room) fail();
          }
          m.check(0, out, false);
        }
        break;
      default:
        m.now += std::chrono::milliseconds(20 * who);
        break;
    }
  }
  for (MemberId id : std::vector<MemberId>(m.live)) {
    std::erase(m.live, id);
    m.hub.disconnect(id);
  }
  if (m.hub.rooms() != 0 || m.hub.members() != 0) fail();
  return 0;
}
