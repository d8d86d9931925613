// read_process_stats: /proc/self/stat, /proc/self/fd, /proc/stat btime and RLIMIT_NOFILE.
#include "tern/metrics/process.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace tern::metrics {
namespace {

double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(4096, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // Fields after the command name, which is in parentheses and may contain spaces.
  const auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(line.substr(close + 2));
    std::string f;
    double utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    for (int i = 3; fields >> f; ++i) {
      if (i == 14) utime = std::stod(f);
      if (i == 15) stime = std::stod(f);
      if (i == 22) start = std::stod(f);
      if (i == 23) vsize = std::stod(f);
      if (i == 24) {
        rss = std::stod(f);
        break;
      }
    }
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_seconds = (utime + stime) / ticks;
    s.start_time_seconds = boot_time() + start / ticks;
    s.virtual_bytes = vsize;
    s.resident_bytes = rss * static_cast<double>(sysconf(_SC_PAGESIZE));
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    s.open_fds += 1;
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = static_cast<double>(limit.rlim_cur);
  return s;
}

}  // namespace tern::metrics
