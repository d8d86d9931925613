// LibbpfLog and errno_text.
#include "libbpf_text.hpp"

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#if TERN_HAVE_OFFLOAD
#include <bpf/libbpf.h>
#endif

namespace tern::offload {

#if TERN_HAVE_OFFLOAD
namespace {
thread_local std::string* capture = nullptr;

int print(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG || capture == nullptr) return 0;
  char line[512];
  const int n = std::vsnprintf(line, sizeof line, format, args);
  if (n > 0 && capture->size() < 2048) capture->append(line);
  return 0;
}
}  // namespace

LibbpfLog::LibbpfLog() {
  capture = &text_;
  libbpf_set_print(print);
}
LibbpfLog::~LibbpfLog() {
  capture = nullptr;
}
#else
LibbpfLog::LibbpfLog() = default;
LibbpfLog::~LibbpfLog() = default;
#endif

std::string LibbpfLog::tail(int err) const {
  if (text_.empty() || err == -EPERM || err == EPERM) return {};
  return ": " + text_.substr(0, 300);
}

std::string errno_text(int err) {
  std::string text = std::strerror(err < 0 ? -err : err);
  if (err == -EPERM || err == EPERM) text += " (needs CAP_BPF, or root)";
  return text;
}

}  // namespace tern::offload
