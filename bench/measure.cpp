// Measuring helpers: clock, histogram, /proc readers, JSON writer (see measure.hpp).
#include "measure.hpp"

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace tern::bench {

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ull +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::size_t Histogram::index(std::uint64_t v) noexcept {
  if (v < 128) return static_cast<std::size_t>(v);
  const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(v));  // >= 7
  const unsigned shift = e - kSubBits;                                  // >= 1
  return static_cast<std::size_t>(shift) * 64 + static_cast<std::size_t>(v >> shift);
}

std::uint64_t Histogram::midpoint(std::size_t i) noexcept {
  if (i < 128) return i;
  const std::size_t shift = i / 64 - 1;
  const std::uint64_t m = 64 + i % 64;
  const std::uint64_t lower = m << shift;
  const std::uint64_t width = std::uint64_t{1} << shift;
  return lower + width / 2;
}

void Histogram::add(std::uint64_t v) noexcept {
  ++buckets_[index(v)];
  ++count_;
  if (v > max_) max_ = v;
}

std::uint64_t Histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  const std::uint64_t want = rank == 0 ? 1 : rank;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= want) return std::min(midpoint(i), max_);
  }
  return max_;
}

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

std::optional<double> process_cpu_seconds(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string token;
  // Fields after the command: state(3) ... utime(14) stime(15).
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  for (int field = 3; field <= 15 && fields >> token; ++field) {
    if (field == 14) utime = std::stoull(token);
    if (field == 15) stime = std::stoull(token);
  }
  const long hz = sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(hz > 0 ? hz : 100);
}

std::optional<std::uint64_t> process_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6));
    }
  }
  return std::nullopt;
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::uint64_t udp_socket_drops(const std::set<std::uint16_t>& ports) {
  std::ifstream in("/proc/net/udp");
  std::string line;
  std::getline(in, line);  // header
  std::uint64_t drops = 0;
  while (std::getline(in, line)) {
    // "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout
    // inode ref pointer drops"
    std::istringstream s(line);
    std::string sl, local;
    if (!(s >> sl >> local)) continue;
    const auto colon = local.find(':');
    if (colon != 8) continue;
    const unsigned long ip = std::stoul(local.substr(0, 8), nullptr, 16);
    const auto port = static_cast<std::uint16_t>(std::stoul(local.substr(colon + 1), nullptr, 16));
    if ((ip & 0xFF) != 127 || !ports.contains(port)) continue;  // little-endian hex on x86
    std::vector<std::string> rest;
    std::string tok;
    while (s >> tok) rest.push_back(tok);
    if (!rest.empty()) drops += std::stoull(rest.back());
  }
  return drops;
}

UdpCounters udp_counters() {
  std::ifstream in("/proc/net/snmp");
  std::string names, values, line;
  while (std::getline(in, line)) {
    if (line.rfind("Udp:", 0) != 0) continue;
    if (names.empty()) {
      names = line;
    } else {
      values = line;
      break;
    }
  }
  UdpCounters c;
  std::istringstream n(names), v(values);
  std::string name, value;
  n >> name;
  v >> value;
  while (n >> name && v >> value) {
    const auto x = std::stoull(value);
    if (name == "InErrors") c.in_errors = x;
    if (name == "RcvbufErrors") c.rcvbuf_errors = x;
    if (name == "SndbufErrors") c.sndbuf_errors = x;
  }
  return c;
}

void Json::key(std::string_view k) {
  if (!first_) out_ += ',';
  first_ = false;
  out_ += '"';
  out_ += k;
  out_ += "\":";
}

Json& Json::field(std::string_view k, std::string_view value) {
  key(k);
  out_ += '"';
  for (char ch : value) {
    if (ch == '"' || ch == '\\') {
      out_ += '\\';
      out_ += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
      out_ += buf;
    } else {
      out_ += ch;
    }
  }
  out_ += '"';
  return *this;
}

Json& Json::field(std::string_view k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  out_ += buf;
  return *this;
}

Json& Json::field(std::string_view k, std::uint64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

Json& Json::field(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

Json& Json::field(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

Json& Json::null_field(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

Json& Json::begin(std::string_view k) {
  key(k);
  out_ += '{';
  first_ = true;
  return *this;
}

Json& Json::end() {
  out_ += '}';
  first_ = false;
  return *this;
}

Json& Json::latency(std::string_view k, const Histogram& h) {
  begin(k);
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  field("count", h.count());
  if (h.count() == 0) return end();
  field("p50", us(h.quantile(0.50)));
  field("p90", us(h.quantile(0.90)));
  field("p99", us(h.quantile(0.99)));
  field("p999", us(h.quantile(0.999)));
  field("max", us(h.max()));
  return end();
}

}  // namespace tern::bench
