// What libbpf said while a program loaded (the verifier's log among it), for the reason a load
// failed, and errno text that names the capability a refusal usually means.
#pragma once

#include <string>

namespace tern::offload {

// Captures libbpf's warnings on this thread while it lives (not its debug chatter).
class LibbpfLog {
 public:
  LibbpfLog();
  ~LibbpfLog();
  LibbpfLog(const LibbpfLog&) = delete;
  LibbpfLog& operator=(const LibbpfLog&) = delete;
  // ": <the first 300 characters>" for a failure `err` other than EPERM, else empty.
  std::string tail(int err) const;

 private:
  std::string text_;
};

// strerror of `err` (either sign), plus "(needs CAP_BPF, or root)" for EPERM.
std::string errno_text(int err);

}  // namespace tern::offload
