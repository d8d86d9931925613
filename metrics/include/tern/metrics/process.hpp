// Standard process_* metrics read from /proc (CPU, memory, open files, start time).
#pragma once

#include <cstdint>

namespace tern::metrics {

struct ProcessStats {
  double cpu_seconds = 0;
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;
  double start_time_seconds = 0;
};

ProcessStats read_process_stats();

}  // namespace tern::metrics
