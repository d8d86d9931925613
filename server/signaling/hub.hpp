// Signaling rooms without I/O: members join rooms, and offers, answers, candidates and byes
// are relayed verbatim to the other members. Tested with strings; the WebSocket layer feeds it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tern::signaling {

using MemberId = std::uint64_t;

struct HubLimits {
  std::size_t members_per_room = 2;
  double messages_per_second = 20;  // per connection, in bursts of twice that
  std::size_t max_rooms = 10000;
};

struct Outgoing {
  MemberId to = 0;
  std::string text;
};

class Hub {
 public:
  explicit Hub(HubLimits limits = {}) : limits_(limits) {}

  // A connection opened; its id names it in "joined" and "bye".
  MemberId connect(std::chrono::steady_clock::time_point now);
  // One text message from `from`; returns what to send to whom.
  std::vector<Outgoing> receive(MemberId from, const std::string& text,
                                std::chrono::steady_clock::time_point now);
  // The connection closed (cleanly or not): the others in its room get a bye.
  std::vector<Outgoing> disconnect(MemberId member);

  std::size_t rooms() const noexcept { return rooms_.size(); }
  std::size_t members() const noexcept { return members_.size(); }

 private:
  struct Member {
    std::string room;  // empty until joined
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
  };
  bool allow(Member& m, std::chrono::steady_clock::time_point now);
  std::vector<Outgoing> join(MemberId id, Member& m, const std::string& room);
  std::vector<Outgoing> to_others(MemberId from, const std::string& text) const;

  HubLimits limits_;
  MemberId next_ = 0;
  std::map<MemberId, Member> members_;
  std::map<std::string, std::set<MemberId>> rooms_;
};

std::string error_message(const std::string& code, const std::string& message);
std::string id_text(MemberId id);

}  // namespace tern::signaling
