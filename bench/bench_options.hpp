// tern_bench's command line: its options, parsed and checked.
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace tern::bench {

inline constexpr std::size_t kMaxPayload = 1400;
inline constexpr std::size_t kStamp = 24;  // magic, client index, sequence, send time

struct Options {
  std::string mode = "relay";
  bool tcp = false;  // a stream transport: TCP, or TLS over it
  bool tls = false;
  std::string server_text;
  sockaddr_in server{};
  pid_t server_pid = 0;
  std::size_t clients = 10;
  std::size_t size = 120;
  double rate = 0;
  std::size_t window = 32;
  double duration = 5;
  std::uint64_t packets = 0;
  bool send = false;
  std::size_t inflight = 64;
  bool idle_channel = false;
  std::size_t active = 0;
  double hold_allocate = 0;
  std::size_t clients_per_ip = 0;
  std::size_t first_ip = 0;  // with clients_per_ip: start at 127.1.0.(first_ip + 1)
  double hold = 0;           // idle: hold the allocations this long (or to SIGTERM) after setup
  std::uint32_t lifetime = 600;
  std::string peer_ip = "127.0.0.2";
  std::uint16_t peer_port = 0;
  std::size_t peers = 1;
  std::string client_netns;
  std::string peer_netns;
  std::string user = "bench";
  std::string password = "bench";
  double drain = 1;
  double setup_timeout = 60;
  double rto = 0.5;
  int max_retries = 4;
  int sockbuf = 4 << 20;
  std::string before_data;
  std::string after_data;
  std::string label;
  std::string shape;
  std::int64_t round = 0;
};

// False with `error` ("help" for --help) when the command line is not a valid run.
bool parse_options(int argc, char** argv, Options& o, std::string& error);
const char* usage();

}  // namespace tern::bench
