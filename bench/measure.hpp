// Measuring helpers for the benchmark: a monotonic clock, a latency histogram, /proc readers
// (a process's CPU time and memory, per-socket UDP drops) and a small JSON writer.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace tern::bench {

// CLOCK_MONOTONIC in nanoseconds.
std::uint64_t now_ns() noexcept;

// Log-linear histogram of non-negative values (nanoseconds here): exact below 128, then 64
// sub-buckets per power of two (under 1.6 % error), fixed size, no allocation per sample.
class Histogram {
 public:
  void add(std::uint64_t v) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  // The value at quantile q in [0, 1] (a bucket's midpoint); 0 when empty.
  std::uint64_t quantile(double q) const noexcept;

 private:
  static constexpr unsigned kSubBits = 6;
  static constexpr std::size_t kBuckets = (64 - kSubBits) * 64 + 128;
  static std::size_t index(std::uint64_t v) noexcept;
  static std::uint64_t midpoint(std::size_t index) noexcept;
  std::array<std::uint64_t, kBuckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

// CPU time of a whole process (all threads): utime + stime from /proc/PID/stat, in seconds.
std::optional<double> process_cpu_seconds(pid_t pid);
// VmRSS from /proc/PID/status, in KiB.
std::optional<std::uint64_t> process_rss_kib(pid_t pid);
// CPU time of this process (getrusage), in seconds.
double self_cpu_seconds();

// Sum of the "drops" column of /proc/net/udp over sockets bound to one of `ports` on 127/8.
std::uint64_t udp_socket_drops(const std::set<std::uint16_t>& ports);

struct UdpCounters {
  std::uint64_t in_errors = 0;
  std::uint64_t rcvbuf_errors = 0;
  std::uint64_t sndbuf_errors = 0;
};
// The Udp: line of /proc/net/snmp (counters for the whole network namespace).
UdpCounters udp_counters();

// Builds one JSON object; values are appended in call order. Nested objects via begin/end.
class Json {
 public:
  Json() { out_ = "{"; }
  Json& field(std::string_view key, std::string_view value);
  Json& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  Json& field(std::string_view key, const std::string& value) {
    return field(key, std::string_view(value));
  }
  Json& field(std::string_view key, double value);
  Json& field(std::string_view key, std::uint64_t value);
  Json& field(std::string_view key, std::int64_t value);
  Json& field(std::string_view key, int value) { return field(key, std::int64_t{value}); }
  Json& field(std::string_view key, bool value);
  Json& null_field(std::string_view key);
  Json& begin(std::string_view key);
  Json& end();
  // Percentiles of a nanosecond histogram, written in microseconds.
  Json& latency(std::string_view key, const Histogram& h);
  std::string str() const { return out_ + "}"; }

 private:
  void key(std::string_view k);
  std::string out_;
  bool first_ = true;
};

}  // namespace tern::bench
